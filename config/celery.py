"""The Celery app: configured from Django settings (the CELERY_ namespace), tasks found in each app."""

import os

from celery import Celery

# Signal receivers: a worker's database connections checked before each task (as Django does
# around a request), the request id carried from a web request to the tasks it enqueues.
from core import celery_connections, celery_context  # noqa: F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("closeloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
