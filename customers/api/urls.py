from rest_framework.routers import DefaultRouter

from customers.api.views import AccountViewSet, CustomerViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("accounts", AccountViewSet, basename="account")
urlpatterns = router.urls
