"""core.redis_cache: Django's Redis cache with one client object per connection pool."""

from django.core.cache import cache


def test_one_client_per_pool_serves_every_call():
    cache.set("redis-cache-test", {"n": 1}, timeout=30)
    assert cache.get("redis-cache-test") == {"n": 1}
    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=True)
    assert (
        cache._cache.get_client(write=True).get(
            cache.make_and_validate_key("redis-cache-test")
        )
        is not None
    )
    cache.delete("redis-cache-test")
    assert cache.get("redis-cache-test") is None
