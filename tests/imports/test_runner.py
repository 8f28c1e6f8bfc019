"""The machinery on an importer of its own: the registry's contract, one bad row among good ones
when the write itself fails, a run taken over after its worker died, the task on its queue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from imports import registry
from imports.models import ImportJob, ImportRowError
from imports.registry import CREATED, BatchOutcome, Column, Importer
from imports.runner import bulk_upsert, import_run
from imports.services import import_prepare, import_start
from tests.imports.conftest import run_file

pytestmark = pytest.mark.django_db

WRITTEN: list[tuple[int, str]] = []


def _upsert(rows):
    if any(row.get("code") == "boom" for row in rows):
        raise RuntimeError("the database said no")
    outcome = BatchOutcome()
    for row in rows:
        WRITTEN.append((row.number, row.get("code")))
        outcome.done(row, CREATED, row.number)
    return outcome


@pytest.fixture
def planets():
    WRITTEN.clear()
    importer = registry.register(Importer(kind="planets", label="Planets", upsert=_upsert, natural_key=(("code",),),
                                          columns=(Column("code", required=True, aliases=("planet",)),
                                                   Column("moons", Column.INTEGER))))
    yield importer
    registry._REGISTRY.pop("planets")


def test_a_row_whose_write_fails_fails_alone(personas, planets):
    job = run_file("planets", "planet,moons\nmercury,0\nboom,1\nmars,2\n", personas.adam)
    assert (job.status, job.rows_created, job.rows_failed) == ("done", 2, 1)
    assert WRITTEN == [(2, "mercury"), (4, "mars")]
    assert list(job.errors.values_list("row", "column", "message")) == [
        (3, "", "This row could not be saved; nothing of it was imported.")]


def test_a_run_whose_worker_died_goes_on_after_its_last_batch(personas, planets, settings):
    job = import_prepare(kind="planets", file_name="p.csv", content=b"code\na\nb\nc\nd\n", by=personas.adam)
    import_start(job_id=job.pk, by=personas.adam)
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_done=2, rows_created=2, last_row=3,
                                               heartbeat_at=timezone.now())
    assert import_run(job_id=job.pk) == "skipped"  # its worker is alive: not taken over
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=301))
    assert import_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert (job.rows_done, job.rows_created, WRITTEN) == (4, 4, [(4, "c"), (5, "d")])


def test_the_bulk_api_path_uses_the_same_checks(personas, planets):
    results = bulk_upsert(kind="planets", items=[{"planet": "venus", "moons": "0"}, {"code": "x", "moons": "many"},
                                                 {"code": "boom"}], by=personas.adam)
    assert [(r.status, r.errors) for r in results] == [
        ("created", []), ("error", [{"field": "moons", "message": "“many” is not a whole number."}]),
        ("error", [{"field": "", "message": "This row could not be saved; nothing of it was imported."}])]
    assert ImportRowError.objects.count() == 0  # the API answers; it keeps no job


def test_the_task_runs_the_job_once_it_is_committed(personas, planets, django_capture_on_commit_callbacks):
    job = import_prepare(kind="planets", file_name="p.csv", content=b"code\na\n", by=personas.adam)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        import_start(job_id=job.pk, by=personas.adam)
    assert len(callbacks) == 1
    assert ImportJob.objects.get(pk=job.pk).status == "done"


def test_the_redrive_queues_again_what_no_worker_runs(personas, planets, django_capture_on_commit_callbacks):
    from imports.services import imports_redrive

    job = import_prepare(kind="planets", file_name="p.csv", content=b"code\na\n", by=personas.adam)
    import_start(job_id=job.pk, by=personas.adam)  # the broker was down: queued, never run
    fresh = import_prepare(kind="planets", file_name="q.csv", content=b"code\nb\n", by=personas.adam)
    import_start(job_id=fresh.pk, by=personas.adam)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=301))
    with django_capture_on_commit_callbacks(execute=True):
        assert imports_redrive() == [job.pk]
    assert dict(ImportJob.objects.values_list("pk", "status")) == {job.pk: "done", fresh.pk: "queued"}
