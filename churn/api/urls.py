from django.urls import path

from churn.api.views import ChurnModelView, CustomerRiskView

urlpatterns = [
    path("churn/model/", ChurnModelView.as_view(), name="churn-model"),
    path("churn/customers/<int:pk>/", CustomerRiskView.as_view(), name="churn-customer"),
]
