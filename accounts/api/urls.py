from rest_framework.routers import DefaultRouter

from accounts.api.views import UserViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("users", UserViewSet, basename="user")
urlpatterns = router.urls
