from django.urls import path, re_path

from churn.api.views import AccountRiskView, ChurnModelView, CustomerRiskView

urlpatterns = [
    path("churn/model/", ChurnModelView.as_view(), name="churn-model"),
    # Any segment reaches the view, as the router's detail routes do, so a caller who is not signed
    # in is told so (401) whatever the id, and a malformed id is the view's 404 after that.
    re_path(r"^churn/customers/(?P<pk>[^/.]+)/$", CustomerRiskView.as_view(), name="churn-customer"),
    re_path(r"^churn/accounts/(?P<pk>[^/.]+)/$", AccountRiskView.as_view(), name="churn-account"),
]
