"""/api/v1/recognitions/ (included under /api/v1/ by config/urls.py)."""

from rest_framework.routers import DefaultRouter

from followup.api.views import RecognitionViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("recognitions", RecognitionViewSet, basename="recognition")
urlpatterns = router.urls
