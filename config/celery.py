"""The Celery app: configured from Django settings (the CELERY_ namespace), tasks found in each app."""

import os

from celery import Celery

from core import celery_context  # noqa: F401  (request id from web request to task: signal receivers)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("closeloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
