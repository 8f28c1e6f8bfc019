from rest_framework.routers import DefaultRouter

from accounts.api.tokens import ApiTokenViewSet
from accounts.api.views import UserViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("users", UserViewSet, basename="user")
router.register("tokens", ApiTokenViewSet, basename="apitoken")
urlpatterns = router.urls
