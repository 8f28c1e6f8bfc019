from rest_framework.routers import DefaultRouter

from segments.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("segments", views.SegmentViewSet, basename="segment")
urlpatterns = router.urls
