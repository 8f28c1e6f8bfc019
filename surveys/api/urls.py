from django.urls import path
from rest_framework.routers import DefaultRouter

from surveys.api.views import ResponseViewSet, SourceViewSet, ThemeViewSet, WebhookFormatsView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("responses", ResponseViewSet, basename="response")
router.register("themes", ThemeViewSet, basename="theme")
router.register("sources", SourceViewSet, basename="source")
urlpatterns = router.urls + [path("webhook-formats/", WebhookFormatsView.as_view(), name="webhook-formats")]
