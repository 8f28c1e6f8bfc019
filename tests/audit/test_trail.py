"""Each kind of change writes exactly the expected audit entry: settings (teams, memberships,
business hours, holidays, SLA policies, routing rules), alert rules, users and roles, API tokens,
webhook sources (a secret recorded as changed, never its value), personal-data exports and
erasures, sign-ins; through the settings pages, the API, the Django admin and commands."""

from __future__ import annotations

import json
import sys

import pytest
from django.core.management import call_command

from accounts.models import ApiToken, ClosedDay, Membership, Role, SlaPolicy
from alerts.models import AlertRule
from audit.masking import MASK
from audit.models import AuditEntry
from cases.models import RoutingRule
from surveys.services import source_create
from tests.factories import PASSWORD
from tests.organisation.helpers import admin_team_form
from tests.security.data import CUSTOMER_EMAIL, CUSTOMER_PHONE, make_customer_story

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def test_an_sla_policy_made_and_changed_through_the_api(api_client, personas, trail):
    api_client.force_authenticate(personas.adam)
    trail.mark()
    created = api_client.post("/api/v1/sla-policies/", {"name": "Fast", "first_contact_hours": "2",
                                                         "resolution_hours": "8"}, format="json")
    assert created.status_code == 201
    policy = SlaPolicy.objects.get(name="Fast")
    assert trail.new() == [{
        "action": "create", "object_type": "accounts.slapolicy", "object_pk": str(policy.pk), "object_repr": "Fast",
        "actor_id": personas.adam.pk, "actor_username": "adam", "via": "api",
        "changes": {"id": [None, policy.pk], "name": [None, "Fast"], "priority": [None, ""],
                    "customer_tier": [None, ""], "first_contact_hours": [None, "2.00"],
                    "resolution_hours": [None, "8.00"], "active": [None, True]},
        "details": None,
    }]
    trail.mark()
    assert api_client.patch(f"/api/v1/sla-policies/{policy.pk}/", {"resolution_hours": "10"},
                            format="json").status_code == 200
    assert [(e["action"], e["changes"]) for e in trail.new()] == [
        ("update", {"resolution_hours": ["8.00", "10.00"]})]
    entry = trail.entries()[0]
    assert (entry.actor_email, entry.remote_addr) == ("adam@example.com", "127.0.0.1")


def test_a_membership_and_a_closed_day_on_the_settings_pages_say_who_and_from_where(client, personas, trail):
    client.force_login(personas.adam)
    trail.mark()
    headers = {"HTTP_USER_AGENT": BROWSER, "HTTP_X_REQUEST_ID": "req-audit-0001"}
    south = personas.south
    assert client.post(f"/settings/teams/{south.pk}/members/", {"user": personas.alice.pk, "is_manager": "on"},
                       **headers).status_code == 302
    assert client.post(f"/settings/teams/{south.pk}/closed-days/", {"date": "2026-12-24", "name": "Stock-take"},
                       **headers).status_code == 302
    membership = Membership.objects.get(team=south, user=personas.alice)
    day = ClosedDay.objects.get(team=south)
    assert trail.new() == [
        {"action": "create", "object_type": "accounts.membership", "object_pk": str(membership.pk),
         "object_repr": "alice in South (manager)", "actor_id": personas.adam.pk, "actor_username": "adam",
         "via": "page", "details": None,
         "changes": {"id": [None, membership.pk], "user": [None, personas.alice.pk], "team": [None, south.pk],
                     "is_manager": [None, True]}},
        {"action": "create", "object_type": "accounts.closedday", "object_pk": str(day.pk),
         "object_repr": "South closed on 2026-12-24 (Stock-take)", "actor_id": personas.adam.pk, "actor_username": "adam",
         "via": "page", "details": None,
         "changes": {"id": [None, day.pk], "team": [None, south.pk], "date": [None, "2026-12-24"],
                     "name": [None, "Stock-take"]}},
    ]
    for entry in trail.entries():
        assert (entry.remote_addr, entry.user_agent, entry.cid) == ("127.0.0.1", BROWSER, "req-audit-0001")


def test_business_hours_changed_in_the_django_admin(client, personas, trail):
    personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    north = personas.north
    before = north.opening_hours
    hours = {**before, "sat": [["10:00", "14:00"]]}
    trail.mark()
    response = client.post(f"/admin/accounts/team/{north.pk}/change/",
                           admin_team_form(north, opening_hours=json.dumps(hours)))
    assert response.status_code == 302
    assert trail.new() == [{
        "action": "update", "object_type": "accounts.team", "object_pk": str(north.pk), "object_repr": "North",
        "actor_id": personas.adam.pk, "actor_username": "adam", "via": "admin", "details": None,
        "changes": {"opening_hours": [before, hours]},
    }]


def test_a_new_default_team_records_the_flag_leaving_the_old_one(client, personas, trail):
    from accounts.teams import team_save

    south = personas.south
    south.is_default = True
    trail.mark()
    team_save(south)
    assert [(e["object_repr"], e["changes"]) for e in trail.new()] == [
        ("North", {"is_default": [True, False]}), ("South", {"is_default": [False, True]})]


def test_a_routing_rule_on_the_settings_page(client, personas, trail):
    client.force_login(personas.adam)
    trail.mark()
    response = client.post("/settings/routing/new/", {
        "name": "Stores to South", "order": "10", "active": "on", "team": personas.south.pk,
        "touchpoints": "store", "locations": "", "channels": "", "customer_tiers": "", "metrics": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = RoutingRule.objects.get(name="Stores to South")
    assert trail.new() == [{
        "action": "create", "object_type": "cases.routingrule", "object_pk": str(rule.pk),
        "object_repr": "Stores to South", "actor_id": personas.adam.pk, "actor_username": "adam", "via": "page",
        "details": None,
        "changes": {"id": [None, rule.pk], "name": [None, "Stores to South"], "order": [None, 10],
                    "active": [None, True], "team": [None, personas.south.pk], "touchpoints": [None, ["store"]],
                    "locations": [None, []], "channels": [None, []], "customer_tiers": [None, []],
                    "metrics": [None, []]},
    }]


def test_an_alert_rule_made_disabled_and_deleted_through_the_api(api_client, personas, trail):
    api_client.force_authenticate(personas.adam)
    trail.mark()
    created = api_client.post("/api/v1/alert-rules/", {"name": "Rude", "metric": "nps", "threshold": 6,
                                                        "keywords": ["rude"]}, format="json")
    assert created.status_code == 201, created.json()
    rule = AlertRule.objects.get(name="Rude")
    made = trail.new()
    assert [(e["action"], e["object_type"], e["object_repr"], e["via"]) for e in made] == [
        ("create", "alerts.alertrule", "Rude", "api")]
    assert {k: made[0]["changes"][k] for k in ("name", "threshold", "keywords", "active")} == {
        "name": [None, "Rude"], "threshold": [None, "6.00"], "keywords": [None, ["rude"]], "active": [None, True]}
    trail.mark()
    assert api_client.patch(f"/api/v1/alert-rules/{rule.pk}/", {"active": False}, format="json").status_code == 200
    assert [(e["action"], e["changes"]) for e in trail.new()] == [("update", {"active": [True, False]})]
    trail.mark()
    assert api_client.delete(f"/api/v1/alert-rules/{rule.pk}/").status_code == 204
    deleted = trail.new()
    assert [(e["action"], e["object_pk"], e["object_repr"]) for e in deleted] == [("delete", str(rule.pk), "Rude")]
    assert deleted[0]["changes"]["name"] == ["Rude", None]


def test_a_role_change_through_the_api(api_client, personas, trail):
    api_client.force_authenticate(personas.adam)
    trail.mark()
    assert api_client.patch(f"/api/v1/users/{personas.alice.pk}/", {"role": "manager"},
                            format="json").status_code == 200
    assert trail.new() == [{
        "action": "update", "object_type": "accounts.user", "object_pk": str(personas.alice.pk),
        "object_repr": "alice", "actor_id": personas.adam.pk, "actor_username": "adam", "via": "api",
        "details": None, "changes": {"role": [Role.AGENT, Role.MANAGER]},
    }]


def test_an_invitation_records_the_user_and_each_membership(api_client, personas, trail, mailoutbox):
    api_client.force_authenticate(personas.adam)
    trail.mark()
    response = api_client.post("/api/v1/users/", {"email": "ravi@example.com", "role": "agent",
                                                  "teams": [personas.north.pk]}, format="json")
    assert response.status_code == 201, response.json()
    assert [(e["action"], e["object_type"], e["object_repr"]) for e in trail.new()] == [
        ("create", "accounts.user", "ravi@example.com"), ("create", "accounts.membership", "ravi@example.com in North")]
    assert trail.new()[0]["changes"]["password"] == ["", MASK]  # a secret: set, or "" when empty


def test_an_api_token_records_that_a_digest_exists_never_the_key(api_client, personas, trail):
    api_client.force_authenticate(personas.alice)
    trail.mark()
    made = api_client.post("/api/v1/tokens/", {"name": "CRM sync", "expires_in_days": None}, format="json")
    assert made.status_code == 201, made.json()
    key = made.json()["key"]
    token = ApiToken.objects.get(name="CRM sync")
    entries = trail.new()
    assert [(e["action"], e["object_type"], e["object_pk"], e["actor_username"], e["via"]) for e in entries] == [
        ("create", "accounts.apitoken", str(token.pk), "alice", "api")]
    assert entries[0]["changes"]["digest"] == ["", MASK]
    assert entries[0]["changes"]["prefix"] == [None, token.prefix]
    trail.mark()
    assert api_client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert [(e["action"], e["object_pk"], e["changes"]["digest"]) for e in trail.new()] == [
        ("delete", str(token.pk), [MASK, ""])]
    stored = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert key not in stored and token.digest not in stored and key[len(token.prefix):] not in stored


def test_a_webhook_secret_change_records_that_it_changed_never_the_values(api_client, personas, trail):
    source_create(name="G", slug="g", vendor="generic", secret="first-secret-value")
    api_client.force_authenticate(personas.adam)
    trail.mark()
    changed = api_client.patch("/api/v1/sources/g/", {"secret": "second-secret-value",
                                                      "auth": {"mode": "token"}}, format="json")
    assert changed.status_code == 200, changed.json()
    entries = trail.new()
    assert [(e["action"], e["object_type"], e["object_repr"], e["via"]) for e in entries] == [
        ("update", "surveys.webhooksource", "G", "api")]
    changes = entries[0]["changes"]
    assert sorted(changes) == ["auth", "previous_secret", "previous_secret_expires_at", "secret"]
    assert (changes["secret"], changes["previous_secret"], changes["auth"]) == (
        [MASK, MASK], ["", MASK], ["", MASK])
    stored = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert "first-secret-value" not in stored and "second-secret-value" not in stored


def test_a_management_command_is_named_as_the_actor(personas, trail, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["manage.py", "create_api_token", "adam", "--name", "From the CLI"])
    trail.mark()
    call_command("create_api_token", "adam", "--name", "From the CLI")
    key = capsys.readouterr().out.strip().split()[-1]
    token = ApiToken.objects.get(name="From the CLI")
    entries = trail.new()
    assert [(e["action"], e["object_type"], e["object_pk"], e["actor_id"], e["actor_username"], e["via"])
            for e in entries] == [("create", "accounts.apitoken", str(token.pk), None, "", "command create_api_token")]
    assert trail.entries()[0].who == "command create_api_token"
    assert key not in json.dumps(list(AuditEntry.objects.values()), default=str)


def test_sign_ins_failed_sign_ins_and_sign_outs(client, personas, trail):
    trail.mark()
    assert client.post("/login/", {"username": "adam", "password": "wrong"}, HTTP_USER_AGENT=BROWSER).status_code == 200
    assert client.post("/login/", {"username": "nobody", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "adam", "password": PASSWORD}).status_code == 302
    assert trail.new() == [
        {"action": "sign_in_failed", "object_type": "accounts.user", "object_pk": str(personas.adam.pk),
         "object_repr": "adam", "actor_id": None, "actor_username": "", "via": "page", "changes": None,
         "details": {"username": "adam"}},
        {"action": "sign_in_failed", "object_type": "accounts.user", "object_pk": "", "object_repr": "nobody",
         "actor_id": None, "actor_username": "", "via": "page", "changes": None, "details": {"username": "nobody"}},
        {"action": "sign_in", "object_type": "accounts.user", "object_pk": str(personas.adam.pk),
         "object_repr": "adam", "actor_id": personas.adam.pk, "actor_username": "adam", "via": "page",
         "changes": None, "details": None},
    ]
    first = trail.entries()[0]
    assert (first.remote_addr, first.user_agent) == ("127.0.0.1", BROWSER)
    trail.mark()
    assert client.post("/logout/").status_code == 302
    assert [(e["action"], e["object_pk"], e["actor_username"], e["via"]) for e in trail.new()] == [
        ("sign_out", str(personas.adam.pk), "adam", "page")]
    stored = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert PASSWORD not in stored and '"wrong"' not in stored


def test_personal_data_export_and_erasure_name_the_customer_by_id_only(api_client, personas, trail):
    story = make_customer_story(personas.north)
    customer = story.customer
    api_client.force_authenticate(personas.adam)
    trail.mark()
    assert api_client.get(f"/api/v1/customers/{customer.pk}/export/").status_code == 200
    erased = api_client.post(f"/api/v1/customers/{customer.pk}/erase/", {"reason": "ticket 7"}, format="json")
    assert erased.status_code == 200
    entries = trail.new()
    assert [(e["action"], e["object_type"], e["object_pk"], e["object_repr"], e["actor_username"], e["via"])
            for e in entries] == [
        ("personal_data_export", "surveys.customer", str(customer.pk), f"customer {customer.pk}", "adam", "api"),
        ("personal_data_erasure", "surveys.customer", str(customer.pk), f"customer {customer.pk}", "adam", "api"),
    ]
    assert entries[0]["details"]["reason"] == "" and entries[0]["details"]["via"] == "api"
    assert entries[1]["details"]["reason"] == "ticket 7"
    assert entries[1]["details"]["summary"] == erased.json()
    stored = json.dumps(list(AuditEntry.objects.values()), default=str)
    for personal in (CUSTOMER_EMAIL, CUSTOMER_PHONE, customer.name):
        assert personal not in stored


def test_a_customer_erasure_command_names_the_command(personas, trail, monkeypatch, capsys):
    story = make_customer_story(personas.north)
    monkeypatch.setattr(sys, "argv", ["manage.py", "customer_erase", "crm-1", "--yes"])
    trail.mark()
    call_command("customer_erase", "crm-1", "--yes")
    assert [(e["action"], e["object_pk"], e["actor_id"], e["via"]) for e in trail.new()] == [
        ("personal_data_erasure", str(story.customer.pk), None, "command customer_erase")]


def test_moving_an_alert_rule_on_its_page_records_each_new_order(client, personas, trail):
    from tests.factories import AlertRuleFactory

    AlertRule.objects.all().delete()
    AlertRuleFactory(name="First", order=10)
    second = AlertRuleFactory(name="Second", order=20)
    client.force_login(personas.adam)
    trail.mark()
    assert client.post(f"/alerts/rules/{second.pk}/move/up/").status_code == 302
    assert [(e["action"], e["object_repr"], e["via"], e["changes"]) for e in trail.new()] == [
        ("update", "Second", "page", {"order": [20, 10]}), ("update", "First", "page", {"order": [10, 20]})]
    assert list(AlertRule.objects.order_by("order").values_list("name", flat=True)) == ["Second", "First"]
