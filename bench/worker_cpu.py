"""A worker's CPU per delivery, in-process: store N deliveries in the end-to-end bench's shape
(bench.bench_cases), then run the batch task's body (surveys.tasks.process_deliveries_task) over
them in batches of 100 in this process, and read the CPU it and its PostgreSQL backend used
(/proc). Not part of `make bench`: a diagnostic for when the end-to-end figure moves, to tell the
workers' cost from the rest of the pipeline. Run it from any checkout's root, e.g. on two
commits to compare them:

    DEBUG=1 python -m bench.worker_cpu head 3100     # -> {"worker_cpu_ms": ..., "pg_cpu_ms": ...}
    DEBUG=1 python -m bench.worker_cpu head 3100 profile   # plus a cProfile of the batches
    cd ../older-checkout && DEBUG=1 python ../main/bench/worker_cpu.py base 3100   # that checkout's code

The first 100 deliveries warm the process up and are not counted. Uses its own database
(closeloop_prof_<tag>) and Redis db 15, dropped at the end."""
import json
import os
import subprocess
import sys
import time

tag, n = sys.argv[1], int(sys.argv[2])
profile = len(sys.argv) > 3
db = f"closeloop_prof_{tag}"
PG = "postgres://postgres@127.0.0.1:5432"
subprocess.run(["psql", f"{PG}/postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=True)
subprocess.run(["psql", f"{PG}/postgres", "-q", "-c", f"CREATE DATABASE {db}"], check=True)
os.environ.update({
    "DATABASE_URL": f"{PG}/{db}", "REDIS_URL": "redis://127.0.0.1:6379/15", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
    "DEBUG": "false", "SECRET_KEY": "bench-" + "x" * 50, "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
    "CLOSELOOP_ENCRYPTION_KEYS": "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=",
    "DJANGO_SETTINGS_MODULE": "config.settings", "CLOSELOOP_TESTING": "false", "DB_CONN_MAX_AGE": "600",
    "CACHE_KEY_PREFIX": f"prof-{tag}", "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    "CELERY_TASK_ALWAYS_EAGER": "false",
})
sys.path.insert(0, os.getcwd())
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
import redis; redis.Redis.from_url("redis://127.0.0.1:6379/15").flushdb()
import bench.bench_cases as bc
from accounts.models import Membership, SlaPolicy, Team, User
from cases.models import RoutingRule
from surveys.models import WebhookSource
# The end-to-end bench's teams, routing and SLA, written out here rather than imported from
# bench.bench_cases: this file must also run from older checkouts, whose bench has no such function.
north = Team.objects.create(name="North", slug="north", is_default=True, assignment="round_robin")
south = Team.objects.create(name="South", slug="south", timezone="Europe/Madrid", assignment="fewest_open")
online = Team.objects.create(name="Online", slug="online", timezone="America/New_York")
for team in (north, south, online):
    for a in range(4):
        user = User.objects.create(username=f"{team.slug}{a}", email=f"{team.slug}{a}@example.com")
        Membership.objects.create(user=user, team=team)
RoutingRule.objects.create(name="Madrid", order=1, team=south, locations=["Madrid"])
RoutingRule.objects.create(name="Online", order=2, team=online, touchpoints=["checkout"])
SlaPolicy.objects.create(name="Standard", first_contact_hours=8, resolution_hours=40)
source = WebhookSource.objects.create(name="Bench", slug="bench", vendor="standard")
from surveys.models import WebhookDelivery
objs = [WebhookDelivery(source=source, delivery_id=f"tp-{i}", content_type="application/json", headers={},
                        body=bc._payload(i, "tp")) for i in range(n)]
WebhookDelivery.objects.bulk_create(objs, batch_size=1000)
pks = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))
from django.db import connection
from surveys.tasks import process_deliveries_task
# warm up
process_deliveries_task.run(pks[:100])
pks = pks[100:]
with connection.cursor() as c:
    c.execute("SELECT pg_backend_pid()"); bpid = c.fetchone()[0]
def pgcpu():
    f = open(f"/proc/{bpid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
if profile:
    import cProfile, pstats; pr = cProfile.Profile(); pr.enable()
c0, w0, p0 = time.process_time(), time.perf_counter(), pgcpu()
for k in range(0, len(pks), 100):
    process_deliveries_task.run(pks[k:k+100])
c1, w1, p1 = time.process_time(), time.perf_counter(), pgcpu()
if profile:
    pr.disable(); pstats.Stats(pr).sort_stats("cumulative").print_stats(45)
m = len(pks)
done = WebhookDelivery.objects.filter(status="processed").count()
from cases.models import Case
print(json.dumps({"tag": tag, "n": m, "processed": done, "cases": Case.objects.count(),
                  "worker_cpu_ms": round((c1-c0)*1000/m, 3), "pg_cpu_ms": round((p1-p0)*1000/m, 3),
                  "wall_ms": round((w1-w0)*1000/m, 3), "load": open("/proc/loadavg").read().split()[0]}))
subprocess.run(["psql", f"{PG}/postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
