"""POST /webhooks/<slug>/: the only CSRF-exempt routes; each requires a valid signature."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
