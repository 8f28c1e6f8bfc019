"""Redis Sentinel for the broker and the cache (settings: REDIS_SENTINELS, REDIS_SENTINEL_MASTER).

Celery's Redis transport speaks Sentinel itself (`sentinel://` URLs and the `master_name`
transport option); Django's Redis cache takes any connection pool class with a `from_url`, so
`SentinelPool` is redis-py's own Sentinel-managed pool behind that one method. Each asks the
sentinels for the current master and follows a failover.

REDIS_URL keeps giving the password and the database number; its host is not used."""

from __future__ import annotations

from urllib.parse import urlsplit

from redis.sentinel import Sentinel, SentinelConnectionPool


def parse_sentinels(items: list[str]) -> list[tuple[str, int]]:
    """["h1:26379", "h2"] -> [("h1", 26379), ("h2", 26379)]."""
    sentinels = []
    for item in items:
        host, _, port = item.rpartition(":")
        sentinels.append((host, int(port)) if host and port.isdigit() else (item, 26379))
    return sentinels


def broker_url(redis_url: str, sentinels: list[tuple[str, int]]) -> str:
    """Celery's broker URL for these sentinels: one `sentinel://` URL per sentinel, `;`-separated,
    each with REDIS_URL's password and database (kombu's format)."""
    url = urlsplit(redis_url)
    auth = f":{url.password}@" if url.password else ""
    database = url.path.lstrip("/") or "0"
    return ";".join(f"sentinel://{auth}{host}:{port}/{database}" for host, port in sentinels)


class SentinelPool(SentinelConnectionPool):
    """A connection pool to the master the sentinels name, for Django's RedisCache
    (OPTIONS["pool_class"], with "sentinels", "service_name" and "sentinel_password" beside it)."""

    @classmethod
    def from_url(cls, url: str, *, sentinels, service_name: str, sentinel_password: str = "", **kwargs):
        parsed = urlsplit(url)
        timeouts = {k: kwargs[k] for k in ("socket_timeout", "socket_connect_timeout") if k in kwargs}
        manager = Sentinel(sentinels, sentinel_kwargs={**timeouts, "password": sentinel_password or None})
        return cls(service_name, manager, db=int(parsed.path.lstrip("/") or 0), password=parsed.password,
                   username=parsed.username or None, **kwargs)


def async_client(location: str, options: dict):
    """A redis.asyncio client on the cache's server (the ASGI ingest's rate limits), with the
    cache's options: through the sentinels when the cache uses them."""
    import redis.asyncio
    from redis.asyncio.sentinel import Sentinel as AsyncSentinel

    options = dict(options)
    options.pop("pool_class", None)
    sentinels = options.pop("sentinels", None)
    if not sentinels:
        return redis.asyncio.Redis.from_url(location, **options)
    service_name, sentinel_password = options.pop("service_name"), options.pop("sentinel_password", "")
    parsed = urlsplit(location)
    timeouts = {k: options[k] for k in ("socket_timeout", "socket_connect_timeout") if k in options}
    manager = AsyncSentinel(sentinels, sentinel_kwargs={**timeouts, "password": sentinel_password or None})
    return manager.master_for(service_name, db=int(parsed.path.lstrip("/") or 0), password=parsed.password,
                              username=parsed.username or None, **options)
