"""Exactly one Celery beat sends, however many are started: the one that holds a lock in Redis.

`SingleBeatScheduler` is Celery's own file-backed scheduler (PersistentScheduler) with one
addition: before each tick it takes or renews a lock in the shared Redis (the cache's server,
key `<prefix>:beat:lock`, expiring after BEAT_LOCK_SECONDS) and sends nothing unless it holds it.
The holder renews it every third of that time; a second beat finds the lock taken and stands by,
checking every second; when the holder stops (it deletes the lock) or dies (the lock expires) a
standby takes over within BEAT_LOCK_SECONDS. When Redis cannot be reached nobody holds the
lock and nothing is sent, which loses nothing: the broker is that Redis, and every periodic
job is a sweep that catches up on its next run.

Why not celery-redbeat, which has the same kind of lock: its beat renews the lock without
catching a Redis error, so a Redis restart or outage ends the beat process (under honcho and
`make run` that stops every process), and its schedule lives in Redis, so a Redis restarted
empty has no schedule until a beat restarts. Here the schedule is the settings' one, in the
beat's own file, and an outage only pauses it (tests/test_queues.py, docs/deployment.md)."""

from __future__ import annotations

import logging
import os
import socket
import uuid

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)

# Take the lock when free, renew it when ours: 1 when held after the call, else 0.
HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""
STANDBY_SECONDS = 1.0
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SingleBeatScheduler(PersistentScheduler):
    """PersistentScheduler that sends only while this process holds the beat lock."""

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        self.lock_seconds = max(int(settings.BEAT_LOCK_SECONDS), 3)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.holding: bool | None = None  # unknown until the first tick
        super().__init__(*args, **kwargs)

    # --- the lock ---------------------------------------------------------------------------
    def _client_and_key(self):
        from django.core.cache import cache

        return cache._cache.get_client(write=True), cache.make_and_validate_key("beat:lock")

    def hold(self) -> bool:
        """Take or renew the lock; False when another beat has it or Redis is unreachable."""
        try:
            client, key = self._client_and_key()
            held = bool(client.eval(HOLD, 1, key, self.token, self.lock_seconds * 1000))
            holder = held or client.get(key)
        except Exception as exc:  # noqa: BLE001 - Redis down: nobody may send, and nothing could be sent
            self._now_holding(False, f"Redis unreachable ({type(exc).__name__})")
            return False
        self._now_holding(held, "" if held else f"held by {holder.decode() if isinstance(holder, bytes) else holder}")
        return held

    def _now_holding(self, held: bool, why: str) -> None:
        if held != self.holding:
            if held:
                logger.info("beat: lock taken (%s); sending scheduled tasks", self.token)
            else:
                logger.info("beat: lock not ours (%s); standing by", why)
        self.holding = held

    def release(self) -> None:
        if not self.holding:
            return
        try:
            client, key = self._client_and_key()
            client.eval(RELEASE, 1, key, self.token)
        except Exception:  # noqa: BLE001 - it expires on its own
            logger.warning("beat: could not release the beat lock; it expires in %ss", self.lock_seconds)
        self.holding = False

    # --- Celery's scheduler -------------------------------------------------------------------
    def tick(self, *args, **kwargs):
        """One round: nothing sent without the lock; the holder never sleeps past a third of the
        lock's lifetime, a beat without it asks again every second (one EVAL), so that the schedule
        resumes within a second of Redis coming back or the lock falling free."""
        if not self.hold():
            return STANDBY_SECONDS
        return min(super().tick(*args, **kwargs), self.lock_seconds / 3)

    def close(self):
        self.release()
        super().close()
