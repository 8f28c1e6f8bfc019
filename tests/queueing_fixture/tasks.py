"""A tasks module nothing imports: core.queueing must import it by the task's name, as in a web
process that has not imported the apps' tasks modules."""

from celery import shared_task


@shared_task(name="tests.queueing_fixture.tasks.unimported_task")
def unimported_task() -> str:
    return "ran"
