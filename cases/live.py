"""Live updates: change counters in Redis that open pages poll (cases/views/live.py, static/js/live.js).

Every write to a case bumps, after its transaction commits, three counters: the case's, its team's
and the "every team" one admins watch; a newly opened case also bumps its team's "new" counter, and
a notification for a user bumps that user's. An open page asks `/cases/live/` every few seconds
with the token it last saw (If-None-Match); the answer is built from one Redis MGET and is a 304
while nothing changed. Nothing is kept per open page on the server, so 500 open inboxes cost 500
small requests every few seconds and no connections held open (docs/inbox.md, "Live updates").

    touch(team_ids=[...], case_ids=[...], new=0, user_ids=[...])   # in a transaction: after commit
    snapshot(keys) -> dict[str, int] | None                         # None: Redis unreachable

Writers never fail because Redis is down: a lost bump only delays a marker until the next change
(and pages fall back to a manual refresh while the poll answers 503).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from contextvars import ContextVar

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

ALL = "all"  # the counters of "every team" (admins see every team)

_pending: ContextVar[Counter | None] = ContextVar("cases_live_pending", default=None)


def team_key(team_id) -> str:
    return f"live:t:{team_id}"


def new_key(team_id) -> str:
    return f"live:n:{team_id}"


def case_key(case_id) -> str:
    return f"live:c:{case_id}"


def user_key(user_id) -> str:
    return f"live:u:{user_id}"


def touch(*, team_ids: Iterable = (), case_ids: Iterable = (), new: int = 0, user_ids: Iterable = ()) -> None:
    """Bump the counters once the current transaction commits (at once outside one). `new` cases
    opened in each of `team_ids`. Several calls in one transaction go out as one Redis pipeline."""
    bumps = Counter()
    for team_id in {t for t in team_ids if t}:
        bumps[team_key(team_id)] += 1
        bumps[team_key(ALL)] += 1
        if new:
            bumps[new_key(team_id)] += new
            bumps[new_key(ALL)] += new
    for case_id in {c for c in case_ids if c}:
        bumps[case_key(case_id)] += 1
    for user_id in {u for u in user_ids if u}:
        bumps[user_key(user_id)] += 1
    if not bumps:
        return
    pending = _pending.get()
    if pending is None:
        pending = Counter()
        _pending.set(pending)
    pending.update(bumps)
    # One callback per call, but the first to run sends everything pending: a callback lost with a
    # rolled-back savepoint never strands the bumps of the calls after it.
    transaction.on_commit(lambda: _flush(pending))


def _flush(pending: Counter) -> None:
    if not pending:
        return
    bumps = dict(pending)
    pending.clear()
    try:
        client = cache._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for key, amount in bumps.items():
            pipe.incrby(cache.make_and_validate_key(key), amount)
        pipe.execute()
    except Exception:  # noqa: BLE001 - Redis down: pages poll 503 and offer a manual refresh
        logger.warning("live counters not bumped (%d keys)", len(bumps), exc_info=True)


def snapshot(keys: list[str]) -> dict[str, int] | None:
    """The counters under `keys` (0 when never bumped); None when Redis cannot be reached."""
    try:
        values = cache.get_many(keys)
    except Exception:  # noqa: BLE001 - any cache error: the page degrades to manual refresh
        logger.warning("live counters unreadable", exc_info=True)
        return None
    return {key: int(values.get(key) or 0) for key in keys}
