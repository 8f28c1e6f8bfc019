"""Run by tests/test_replica.py in its own process, against a real primary and streaming replica
(DATABASE_URL, DATABASE_REPLICA_URL): each step of docs/deployment.md "Read replica", with where
the report's queries went. Prints one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from contextlib import ExitStack, contextmanager

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from core import replica  # noqa: E402
from tests.factories import SurveyResponseFactory, make_team  # noqa: E402


@contextmanager
def counting():
    """Counts the queries each alias ran inside the block."""
    counts: Counter = Counter()

    def wrapper_for(alias):
        def wrapper(execute, sql, params, many, context):
            counts[alias] += 1
            return execute(sql, params, many, context)
        return wrapper

    with ExitStack() as stack:
        for alias in ("default", "replica"):
            stack.enter_context(connections[alias].execute_wrapper(wrapper_for(alias)))
        yield counts


def fresh_state():
    replica._state = None


def wait_for(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def report(client) -> tuple[int, int, Counter]:
    replica.replica_state()  # the lag check's own query is not the report's
    with counting() as counts:
        response = client.get("/api/v1/reports/scores-by-team/")
    rows = response.json()["rows"] if response.status_code == 200 else []
    total = sum(row.get("nps_n") or 0 for row in rows)
    return response.status_code, total, counts


def main() -> None:
    # In this process: the database is usually a copy of a migrated one (tests/test_replica.py),
    # where a `manage.py migrate` process of its own spent 3-4 s starting to find nothing to do.
    call_command("migrate", verbosity=0, interactive=False)
    cache.clear()
    team = make_team("Replica North")
    admin = User.objects.create_user("replica-admin", "replica-admin@example.com", "x", role=Role.ADMIN)
    for i in range(3):
        SurveyResponseFactory(team=team, nps=9, external_id=f"rep-{i}")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    result = {}
    # Streaming: the replica has the three responses once it has replayed them.
    wait_for(lambda: replica._check().lag_seconds == 0)
    fresh_state()
    status, total, counts = report(client)
    result["caught_up"] = {"status": status, "nps_n": total, "replica_queries": counts["replica"]}

    # Read your writes: a successful unsafe request pins the writer's next reads to the primary.
    client.post("/settings/contact-policy/", {"save": "1", "max_surveys": "4", "period_days": "30",
                                              "days_after_close": "14", "quiet_start": "21:00", "quiet_end": "08:00"})
    status, total, counts = report(client)
    result["after_write"] = {"status": status, "replica_queries": counts["replica"]}
    cache.clear()

    # Lag: replay paused, a write on the primary; past the bound, reads go to the primary and see it.
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    SurveyResponseFactory(team=team, nps=2, external_id="rep-late")
    lagging = wait_for(lambda: (replica._check().lag_seconds or 0) > 1.0)
    fresh_state()
    status, total, counts = report(client)
    result["lagging"] = {"waited": lagging, "status": status, "nps_n": total, "replica_queries": counts["replica"],
                         "reason": replica.replica_state().reason.split(" (")[0].split(" s ")[-1]}
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")
    wait_for(lambda: replica._check().lag_seconds == 0)
    fresh_state()
    status, total, counts = report(client)
    result["resumed"] = {"status": status, "nps_n": total, "replica_queries": counts["replica"]}

    # The replica stopped while it was thought usable: the report answers from the primary.
    assert replica.replica_state().usable
    subprocess.run(os.environ["REPLICA_STOP_COMMAND"], shell=True, check=True, capture_output=True)
    status, total, counts = report(client)
    result["replica_down"] = {"status": status, "nps_n": total, "usable": replica.replica_state().usable,
                              "reason": replica.replica_state().reason}
    status, total, counts = report(client)
    result["still_down"] = {"status": status, "nps_n": total, "replica_queries": counts["replica"]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
