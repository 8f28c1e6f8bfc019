from rest_framework.routers import DefaultRouter

from improvement.api import ActionPlanViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("action-plans", ActionPlanViewSet, basename="action-plan")
urlpatterns = router.urls
