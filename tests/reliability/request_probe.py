"""A page that logs and enqueues a task, served through the project's real middleware, so the
request id can be followed from the HTTP request into the task (tests/reliability)."""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.urls import path

from config.celery import app
from core.logging import request_id_var, task_id_var

log = logging.getLogger("tests.request_probe")
seen_by_task: list[dict] = []


@app.task(name="tests.reliability.probe_task")
def probe_task(marker: str) -> None:
    seen_by_task.append({"marker": marker, "request_id": request_id_var.get(), "task_id": task_id_var.get()})
    log.info("task ran", extra={"marker": marker})


def probe_view(request):
    log.info("view ran", extra={"marker": request.GET["marker"]})
    probe_task.delay(request.GET["marker"])
    return HttpResponse("ok")


urlpatterns = [path("probe/", probe_view, name="probe")]
