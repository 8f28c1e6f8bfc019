from rest_framework.routers import DefaultRouter

from reporting.api.views import ReportViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("reports", ReportViewSet, basename="reports")
urlpatterns = router.urls
