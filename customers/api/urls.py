from django.urls import path
from rest_framework.routers import DefaultRouter

from customers.api.views import AccountRuleViewSet, AccountViewSet, CustomerViewSet
from imports.api.views import BulkUpsertView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("accounts", AccountViewSet, basename="account")
router.register("account-rules", AccountRuleViewSet, basename="account-rule")
# Before the router's, whose customers/<pk>/ would take "bulk" for an id.
urlpatterns = [
    path("customers/bulk/", BulkUpsertView.as_view(kind="customers"), name="customer-bulk"),
    path("accounts/bulk/", BulkUpsertView.as_view(kind="accounts"), name="account-bulk"),
    path("contacts/bulk/", BulkUpsertView.as_view(kind="contacts"), name="contact-bulk"),
    *router.urls,
]
