"""Rejected webhook attempts, counted in Redis (a rejected attempt stores no row).

The metrics endpoint (reliability) reads `rejection_counts()`. Counting never breaks a request:
when Redis is unreachable the attempt is only logged."""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger("surveys.webhooks")

KEY = "surveys:webhook_rejections"
UNKNOWN_SOURCE = "_unknown"


def _client():
    return cache._cache.get_client(KEY, write=True)


def redis_client():
    """The cache's Redis client (for the few things that need a Redis command of their own)."""
    return _client()


def _key() -> str:
    return cache.make_key(KEY)


def record_rejection(source_slug: str, reason: str) -> None:
    logger.warning("webhook rejected", extra={"source": source_slug, "reason": reason})
    try:
        _client().hincrby(_key(), f"{source_slug}|{reason}", 1)
    except Exception as exc:  # Redis down: the log line above is the record
        logger.warning("webhook rejection not counted: %s", exc)


async def record_rejection_async(source_slug: str, reason: str) -> None:
    """`record_rejection` for an event loop (the ingest server): the same count, on the loop's client."""
    logger.warning("webhook rejected", extra={"source": source_slug, "reason": reason})
    try:
        await _async_client().hincrby(_key(), f"{source_slug}|{reason}", 1)
    except Exception as exc:  # Redis down: the log line above is the record
        logger.warning("webhook rejection not counted: %s", exc)


def rejection_counts() -> dict[tuple[str, str], int]:
    try:
        raw = _client().hgetall(_key())
    except Exception as exc:
        logger.warning("webhook rejection counts unavailable: %s", exc)
        return {}
    counts = {}
    for field, value in raw.items():
        slug, _, reason = (field.decode() if isinstance(field, bytes) else field).partition("|")
        counts[(slug, reason)] = int(value)
    return counts


def rate_limited(source_slug: str, limit_per_second: int, now: float) -> bool:
    """Fixed one-second window per source, shared by every web process through Redis.

    Fails open: when Redis is unreachable deliveries are still accepted (PostgreSQL is the
    durable store; the limit only protects it from a flood)."""
    if not limit_per_second:
        return False
    key = cache.make_key(f"surveys:webhook_rate:{source_slug}:{int(now)}")
    try:
        pipe = _client().pipeline()
        pipe.incr(key)
        pipe.expire(key, 2)
        count, _ = pipe.execute()
    except Exception as exc:
        logger.warning("webhook rate limit unavailable: %s", exc)
        return False
    return count > limit_per_second


_async_clients: dict = {}


def _async_client():
    """A redis.asyncio client for the running event loop (the ASGI front door), on the cache's
    Redis server, with the cache's timeouts (through the sentinels when the cache uses them)."""
    import asyncio

    from django.conf import settings

    from core import redis_sentinel

    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        config = settings.CACHES["default"]
        location = config["LOCATION"]
        location = (location if isinstance(location, str) else location[0]).split(",")[0]
        client = redis_sentinel.async_client(location, config.get("OPTIONS", {}))
        for old in [known for known in _async_clients if known.is_closed()]:
            del _async_clients[old]
        _async_clients[loop] = client
    return client


async def rate_limited_async(source_slug: str, limit_per_second: int, now: float) -> bool:
    """`rate_limited` for an event loop: the same window and key, without blocking the loop."""
    if not limit_per_second:
        return False
    key = cache.make_key(f"surveys:webhook_rate:{source_slug}:{int(now)}")
    try:
        async with _async_client().pipeline() as pipe:
            count, _ = await pipe.incr(key).expire(key, 2).execute()
    except Exception as exc:
        logger.warning("webhook rate limit unavailable: %s", exc)
        return False
    return count > limit_per_second
