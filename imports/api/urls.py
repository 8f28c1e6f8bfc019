from rest_framework.routers import DefaultRouter

from imports.api.views import ImportJobViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("imports", ImportJobViewSet, basename="import")
urlpatterns = router.urls
