"""SLA policies, routing rules (and the routing tester) and the root-cause taxonomy: refused input
reads the same on the settings page, in the API and in the Django admin, never a constraint name."""

from __future__ import annotations

import pytest

from accounts.models import SlaPolicy
from cases.models import RootCause, RootCauseCategory, RoutingRule
from cases.routing import route_team_id
from tests.factories import CustomerFactory, SurveyFactory, SurveyResponseFactory, WebhookSourceFactory
from tests.organisation.conftest import text

pytestmark = pytest.mark.django_db

NEGATIVE = "Give a positive number of business hours, e.g. 4 (-4 is not a target)."
ZERO = "Give a positive number of business hours, e.g. 4 (0 is not a target)."
NOT_A_LIST = "Give a list of touchpoint names, e.g. delivery, store (or leave it empty for any)."


def _superuser(client, personas):
    personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)


@pytest.mark.parametrize("first, message", [("-4", NEGATIVE), ("0", ZERO)])
def test_a_negative_or_zero_sla_is_refused_in_words_everywhere(client, api_client, personas, first, message):
    form = {"name": "Gold", "priority": "", "customer_tier": "", "first_contact_hours": first,
            "resolution_hours": "8", "active": "on"}
    client.force_login(personas.adam)
    response = client.post("/settings/sla/new/", form)
    assert response.status_code == 422
    assert message in text(response) and "accounts_slapolicy" not in text(response)

    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/sla-policies/", {**form, "active": True}, format="json")
    assert answer.status_code == 400 and answer.json() == {"first_contact_hours": [message]}

    _superuser(client, personas)
    response = client.post("/admin/accounts/slapolicy/add/", form)
    assert response.status_code == 200
    assert message in text(response) and "accounts_slapolicy" not in text(response)
    assert not SlaPolicy.objects.filter(name="Gold").exists()


def test_resolution_before_first_contact_is_refused(api_client, personas):
    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/sla-policies/", {"name": "Fast", "first_contact_hours": "8",
                                                        "resolution_hours": "4"}, format="json")
    assert answer.json() == {"resolution_hours": [
        "Resolution (4 h) cannot be due before first contact (8 h): give at least 8."]}
    created = api_client.post("/api/v1/sla-policies/", {"name": "Fast", "first_contact_hours": "2",
                                                         "resolution_hours": "8"}, format="json")
    assert created.status_code == 201 and SlaPolicy.objects.get(name="Fast").resolution_hours == 8


def test_the_routing_tester_answers_with_the_routing_function_ingest_uses(client, personas):
    client.force_login(personas.adam)
    response = client.post("/settings/routing/new/", {
        "name": "Gold deliveries", "order": "10", "active": "on", "team": personas.south.pk,
        "touchpoints": "delivery", "locations": "", "channels": "", "customer_tiers": "Gold", "metrics": "",
        "sla_policy": ""})
    assert response.status_code == 302, text(response)[:2000]
    rule = RoutingRule.objects.get(name="Gold deliveries")
    assert (rule.touchpoints, rule.customer_tiers, rule.team) == (["delivery"], ["Gold"], personas.south)

    answer = text(client.get("/settings/routing/", {"touchpoint": "Delivery", "customer_tier": "gold", "metric": "nps"}))
    assert "→ South</strong>. Rule #10 “Gold deliveries” matches first." in answer
    fallback = text(client.get("/settings/routing/test/", {"touchpoint": "store", "metric": "nps"}))
    assert "→ North</strong>. No rule matches, so the default team “North” gets it." in fallback

    # The same answer as for a real response through cases.routing.
    real = SurveyResponseFactory(source=WebhookSourceFactory(), survey=SurveyFactory(), touchpoint="delivery",
                                 customer=CustomerFactory(tier="Gold"), nps=3)
    assert route_team_id(real) == personas.south.pk


def test_the_routing_api_tests_and_refuses_like_the_page(api_client, client, personas):
    api_client.force_authenticate(personas.adam)
    refused = api_client.post("/api/v1/routing-rules/", {"name": "Bad", "team": personas.south.pk,
                                                          "touchpoints": "delivery"}, format="json")
    assert refused.status_code == 400 and refused.json() == {"touchpoints": [NOT_A_LIST]}
    off = SlaPolicy.objects.create(name="Old", first_contact_hours=4, resolution_hours=8, active=False)
    refused = api_client.post("/api/v1/routing-rules/", {"name": "Bad", "team": personas.south.pk,
                                                          "sla_policy": off.pk}, format="json")
    assert refused.json() == {"sla_policy": ["“Old” is switched off: switch it on first, or choose another policy."]}
    created = api_client.post("/api/v1/routing-rules/", {"name": "Leeds", "team": personas.south.pk,
                                                          "locations": ["Leeds"]}, format="json")
    assert created.status_code == 201
    answer = api_client.post("/api/v1/routing-rules/test/", {"location": "leeds"}, format="json").json()
    assert answer == {"team": {"id": personas.south.pk, "name": "South"},
                      "rule": {"id": created.json()["id"], "name": "Leeds"}, "reason": "Rule #100 “Leeds” matches first."}

    _superuser(client, personas)
    response = client.post("/admin/cases/routingrule/add/", {
        "name": "Bad", "order": "1", "active": "on", "team": personas.south.pk, "touchpoints": '"delivery"',
        "locations": "[]", "channels": "[]", "customer_tiers": "[]", "metrics": "[]"})
    assert response.status_code == 200 and NOT_A_LIST in text(response)


def test_non_admins_get_404_from_the_settings_api(api_client, personas):
    api_client.force_authenticate(personas.mia)
    for path in ("/api/v1/teams/", "/api/v1/sla-policies/", "/api/v1/routing-rules/", "/api/v1/root-cause-categories/"):
        assert api_client.get(path).status_code == 404


def test_the_root_cause_taxonomy(client, api_client, personas):
    client.force_login(personas.adam)
    assert client.post("/settings/root-causes/", {"add_category": "1", "category-name": "Loyalty",
                                                  "category-order": "5", "category-active": "on"}).status_code == 302
    billing = RootCauseCategory.objects.get(name="Loyalty")
    assert client.post("/settings/root-causes/", {"add_cause": "1", "cause-category": billing.pk,
                                                  "cause-name": "Double charge", "cause-active": "on"}).status_code == 302
    refused = client.post("/settings/root-causes/", {"add_cause": "1", "cause-category": billing.pk,
                                                     "cause-name": "A > B", "cause-active": "on"})
    assert refused.status_code == 422
    assert "Names cannot contain “>” (it separates category and cause in labels)." in text(refused)
    cause = RootCause.objects.get(name="Double charge")
    client.post(f"/settings/root-causes/cause/{cause.pk}/toggle/")
    cause.refresh_from_db()
    assert cause.active is False

    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/root-cause-entries/", {"category": billing.pk, "name": " "}, format="json")
    assert answer.status_code == 400


def test_notification_switches_on_the_page_and_in_the_api(client, api_client, personas):
    from cases.models import NotificationPreference
    from cases.notifications import enabled_users

    client.force_login(personas.adam)
    page = text(client.get("/settings/notifications/"))
    assert 'name="pref-{}-overdue" id="pref-{}-overdue" checked'.format(personas.alice.pk, personas.alice.pk) in page
    switches = {f"pref-{u.pk}-{kind}": "on" for u in (personas.alice, personas.bob, personas.charlie, personas.mia,
                                                        personas.adam) for kind in ("assigned", "overdue")}
    del switches[f"pref-{personas.alice.pk}-overdue"]
    shown = [u.pk for u in (personas.alice, personas.bob)]  # the others were not on the page: left alone
    assert client.post("/settings/notifications/", {**switches, "shown": shown}).status_code == 302
    assert enabled_users([personas.alice.pk, personas.bob.pk], "overdue") == {personas.bob.pk}
    assert enabled_users([personas.alice.pk], "assigned") == {personas.alice.pk}
    assert not NotificationPreference.objects.filter(user=personas.charlie).exists()

    api_client.force_authenticate(personas.adam)
    pref = NotificationPreference.objects.get(user=personas.alice, kind="overdue")
    assert api_client.patch(f"/api/v1/notification-preferences/{pref.pk}/", {"enabled": True}, format="json").status_code == 200
    assert enabled_users([personas.alice.pk], "overdue") == {personas.alice.pk}
