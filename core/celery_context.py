"""Carry the web request's id into the Celery tasks it enqueues.

`before_task_publish` copies the current request id into the message headers; `task_prerun`
puts it (and the task id) back into the log context in the worker; `task_postrun` clears it.
With CELERY_TASK_ALWAYS_EAGER (tests) nothing is published: the task runs inside the request's
own context and the id is already there."""

from __future__ import annotations

from celery import signals

from core.logging import request_id_var, task_id_var

HEADER = "closeloop_request_id"
_tokens: dict[str, tuple] = {}


@signals.before_task_publish.connect
def add_request_id(headers=None, **kwargs):
    request_id = request_id_var.get()
    if headers is not None and request_id and HEADER not in headers:
        headers[HEADER] = request_id


@signals.task_prerun.connect
def enter_task_context(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, HEADER, None) or (task.request.headers or {}).get(HEADER)
    if request_id is None and task.request.is_eager:
        request_id = request_id_var.get()
    _tokens[task_id] = (request_id_var.set(request_id), task_id_var.set(task_id))


@signals.task_postrun.connect
def leave_task_context(task_id=None, **kwargs):
    tokens = _tokens.pop(task_id, None)
    if tokens:
        for var, token in zip((request_id_var, task_id_var), tokens):
            try:
                var.reset(token)
            except ValueError:  # a different context (thread pool): just clear it
                var.set(None)
