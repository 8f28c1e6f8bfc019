from rest_framework.routers import DefaultRouter

from alerts.api.views import AlertRuleViewSet, AlertViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("alert-rules", AlertRuleViewSet, basename="alert-rule")
router.register("alerts", AlertViewSet, basename="alert")
urlpatterns = router.urls
