"""The active-rule cache: zero queries once cached, and every kind of rule change invalidates it."""

from __future__ import annotations

import pytest

from alerts import services
from alerts.rules import evaluate
from alerts.selectors import active_rules
from tests.alerts.helpers import defaults_off, fake, rule, survey

pytestmark = pytest.mark.django_db


def names():
    return [r.name for r in active_rules()]


def test_loading_rules_costs_zero_queries_once_cached(django_assert_num_queries):
    defaults_off()
    rule(name="A")
    active_rules()
    with django_assert_num_queries(0):
        for _ in range(100):
            rules = active_rules()
            evaluate(fake(nps=3), rules)
    assert [r.name for r in rules] == ["A"]


def test_zero_io_between_checks(django_assert_num_queries, settings, monkeypatch):
    """With a check interval, cached rules cost not even a Redis round trip."""
    from django.core.cache import cache

    settings.ALERT_RULES_CHECK_SECONDS = 60
    active_rules()
    monkeypatch.setattr(cache, "get", lambda *a, **k: pytest.fail("Redis was asked"))
    with django_assert_num_queries(0):
        active_rules()


def test_a_saved_rule_is_seen_at_once():
    defaults_off()
    assert names() == []
    created = rule(name="New")
    assert names() == ["New"]
    services.rule_update(rule=created, data={"name": "Renamed"})
    assert names() == ["Renamed"]
    services.rule_set_active(rule_id=created.pk, active=False)
    assert names() == []


def test_deleting_and_reordering_invalidate():
    defaults_off()
    first, second = rule(name="First", order=1), rule(name="Second", order=2)
    assert names() == ["First", "Second"]
    services.rule_move(rule_id=second.pk, direction="up")
    assert names() == ["Second", "First"]
    services.rule_delete(rule_id=first.pk)
    assert names() == ["Second"]


def test_changing_a_rules_surveys_invalidates():
    defaults_off()
    created = rule(name="Scoped")
    assert active_rules()[0].surveys is None
    created.surveys.add(survey("Store visit"))
    assert active_rules()[0].surveys == frozenset({survey("Store visit").pk})


def test_another_process_sees_a_change_through_the_shared_version(django_assert_num_queries):
    """Simulates a second worker: its local copy is current until the shared token moves."""
    import alerts.selectors as selectors

    defaults_off()
    rule(name="Old")
    active_rules()
    stale = selectors._rules.cached
    rule(name="New")  # bumps the shared token
    selectors._rules.cached = stale  # the other process still holds the old copy
    assert names() == ["Old", "New"]


def test_redis_down_falls_back_to_the_database(monkeypatch):
    from django.core.cache import cache

    defaults_off()
    rule(name="Still works")

    def down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "add", down)
    assert names() == ["Still works"]

def test_bulk_delete_in_django_admin_reaches_the_rule_cache(admin_client, db):
    from alerts.models import AlertRule
    from alerts.selectors import active_rules

    rule = AlertRule.objects.create(name="Bulk gone", metric="nps", operator="lte", threshold=3)
    assert any(r.name == "Bulk gone" for r in active_rules())
    response = admin_client.post(
        "/admin/alerts/alertrule/",
        {"action": "delete_selected", "_selected_action": [rule.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not AlertRule.objects.filter(pk=rule.pk).exists()
    assert not any(r.name == "Bulk gone" for r in active_rules())
