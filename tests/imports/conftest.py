import pytest

from imports.runner import import_run
from imports.services import import_prepare, import_start


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_file(kind: str, content: bytes | str, by, name: str = "crm.csv"):
    """Upload, start and run an import as the worker would; the job afterwards."""
    data = content.encode() if isinstance(content, str) else content
    job = import_prepare(kind=kind, file_name=name, content=data, by=by)
    import_start(job_id=job.pk, by=by)
    import_run(job_id=job.pk)
    job.refresh_from_db()
    return job
