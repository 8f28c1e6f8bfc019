"""Settings → Account rules (config/urls.py mounts it at /settings/account-rules/)."""

from django.urls import path

from customers.views import account_rules as views

app_name = "account_rules"
urlpatterns = [
    path("", views.account_rule_list, name="list"),
    path("new/", views.account_rule_edit, name="create"),
    path("<int:pk>/", views.account_rule_edit, name="edit"),
    path("<int:pk>/toggle/", views.account_rule_toggle, name="toggle"),
]
