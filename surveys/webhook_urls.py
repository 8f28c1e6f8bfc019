"""POST /webhooks/<slug>/: the only CSRF-exempt routes; each requires a valid signature.

Both `/webhooks/<slug>/` and `/webhooks/<slug>` are served (no redirect: a POST must not be
bounced, and many tools are configured without the trailing slash)."""

from django.urls import path

from surveys.ingest.django_view import webhook_receive

urlpatterns = [
    path("<str:slug>/", webhook_receive, name="webhook"),
    path("<str:slug>", webhook_receive, name="webhook-no-slash"),
]
