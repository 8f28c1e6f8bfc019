from rest_framework.routers import DefaultRouter

from outcomes.api.views import OutcomeEventViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("outcomes", OutcomeEventViewSet, basename="outcome")
urlpatterns = router.urls
