"""Single sign-on addresses. Not namespaced: mozilla-django-oidc reverses
"oidc_authentication_callback" by that name. Register SITE_URL + /oidc/callback/ at the provider."""

from django.urls import path

from accounts.sso import views

urlpatterns = [
    path("authenticate/", views.SsoStartView.as_view(), name="oidc_authentication_init"),
    path("callback/", views.SsoCallbackView.as_view(), name="oidc_authentication_callback"),
]
