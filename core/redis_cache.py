"""Django's Redis cache with one client object per connection pool instead of one per call.

Django's RedisCacheClient.get_client builds a new `redis.Redis` around the (shared) pool on every
cache operation, and redis-py's constructor fills a table of about 170 response callbacks each
time: 0.3 ms of CPU per operation under cProfile, five to seven times per inbox or case page
(sessions aside: the live markers, the process caches' version checks, rate limits). A `Redis`
object holds no connection of its own (it borrows from the pool per command) and is safe to share
between threads, so one per pool does the same work. Everything else is Django's backend as is
(settings.CACHES "BACKEND": "core.redis_cache.RedisCache"; the Sentinel pool class works unchanged).
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
