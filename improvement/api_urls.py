from rest_framework.routers import DefaultRouter

from improvement.api import ActionPlanViewSet, OuterLoopAlertViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("action-plans", ActionPlanViewSet, basename="action-plan")
router.register("outer-loop-alerts", OuterLoopAlertViewSet, basename="outer-loop-alert")
urlpatterns = router.urls
