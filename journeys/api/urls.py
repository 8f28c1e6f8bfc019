from rest_framework.routers import DefaultRouter

from journeys.api.views import JourneyViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("journeys", JourneyViewSet, basename="journeys")
urlpatterns = router.urls
