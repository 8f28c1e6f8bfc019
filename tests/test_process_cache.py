"""core.process_cache: what a hot path relies on from the one per-process cache."""

from __future__ import annotations

from django.core.cache import cache

from core.process_cache import KeyedProcessCache, ProcessCache

KEY = "tests:process-cache:version"


class Loads:
    """A loader that counts its calls (standing in for a database query)."""

    def __init__(self, values: dict):
        self.values, self.calls = values, []

    def __call__(self, key=None):
        self.calls.append(key)
        return self.values.get(key)


def test_a_kept_value_is_served_without_loading_until_another_process_moves_the_version():
    load = Loads({None: "rules v1"})
    rules = ProcessCache(KEY, load, check_seconds=lambda: 0, what="test rules")
    assert rules.get() == "rules v1"
    assert rules.get() == "rules v1"
    assert load.calls == [None]
    load.values[None] = "rules v2"
    cache.set(KEY, "moved by another process", timeout=None)
    assert rules.get() == "rules v2"
    assert load.calls == [None, None]


def test_keyed_entries_are_kept_per_key_and_misses_are_not():
    load = Loads({"typeform": "source A"})
    sources = KeyedProcessCache(KEY, load, check_seconds=lambda: 60, what="test sources")
    assert sources.get("typeform") == ("source A", False)
    assert sources.get("typeform") == ("source A", True)
    assert sources.get("unknown") == (None, False)
    assert sources.get("unknown") == (None, False)
    assert load.calls == ["typeform", "unknown", "unknown"]


def test_peek_answers_from_memory_only_and_reload_replaces_one_entry():
    load = Loads({"typeform": "old secret"})
    sources = KeyedProcessCache(KEY, load, check_seconds=lambda: 60, what="test sources")
    assert sources.peek("typeform") is None  # nothing loaded yet: the caller must ask get()
    sources.get("typeform")
    assert sources.peek("typeform") == "old secret"
    load.values["typeform"] = "rotated secret"
    assert sources.reload("typeform") == "rotated secret"
    assert sources.peek("typeform") == "rotated secret"
    del load.values["typeform"]
    assert sources.reload("typeform") is None
    assert sources.peek("typeform") is None


def test_a_change_forgets_every_entry_here_and_moves_the_shared_version(db, django_capture_on_commit_callbacks):
    load = Loads({"typeform": "source A"})
    sources = KeyedProcessCache(KEY, load, check_seconds=lambda: 0, what="test sources")
    sources.get("typeform")
    before = cache.get(KEY)
    with django_capture_on_commit_callbacks(execute=True):
        sources.changed()
    assert cache.get(KEY) != before
    assert sources.get("typeform") == ("source A", False)


def test_without_the_shared_cache_every_read_goes_to_the_database(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens there
    load = Loads({"typeform": "source A"})
    sources = KeyedProcessCache(KEY, load, check_seconds=lambda: 60, what="test sources")
    assert sources.get("typeform") == ("source A", False)
    assert sources.get("typeform") == ("source A", False)
    assert load.calls == ["typeform", "typeform"]
