from django.urls import path

from contactpolicy import views

app_name = "contactpolicy"
urlpatterns = [
    path("", views.policy_settings, name="settings"),
]
