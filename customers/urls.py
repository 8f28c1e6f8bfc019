from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/consent/", views.consent_edit, name="consent"),
    path("identity/", views.identity_settings, name="identity"),
    path("identity/merge/", views.merge, name="merge"),
    path("identity/merges/<int:pk>/undo/", views.merge_undo, name="merge_undo"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
]
