"""/api/v1/segments/ and the settings pages: admins create, change and delete, everyone else
reads; member counts; the preview count; refusals in words; the audit trail; a segment in use
cannot be deleted."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest

from audit.models import AuditEntry
from segments.models import Segment
from segments.services import segment_save
from tests.factories import AlertRuleFactory, CustomerFactory

pytestmark = pytest.mark.django_db

GOLD = [{"field": "tier", "operator": "equals", "value": "gold"}]


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def customers(db):
    CustomerFactory(name="ana", tier="Gold", account_value=Decimal("5000"), attributes={"region": "EMEA"})
    CustomerFactory(name="bo", tier="gold", attributes={"region": "APAC"})
    CustomerFactory(name="cy", tier="silver", attributes={"region": "EMEA"})


def test_an_admin_creates_a_segment_and_everyone_reads_it_with_its_member_count(api_client, personas, customers):
    api_client.force_authenticate(personas.adam)
    created = api_client.post("/api/v1/segments/", {
        "name": "Gold EMEA", "description": "Our best European customers", "match": "all",
        "conditions": [{"field": "tier", "operator": "equals", "value": " gold "},
                       {"field": "region", "operator": "equals", "value": "emea"}]}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["slug"] == "gold-emea" and body["member_count"] == 1
    assert body["conditions"] == [{"field": "tier", "operator": "equals", "value": "gold"},
                                  {"field": "attributes.region", "operator": "equals", "value": "emea"}]
    assert Segment.objects.get(slug="gold-emea").conditions[1]["field"] == "attributes.region"

    api_client.force_authenticate(personas.alice)
    listed = api_client.get("/api/v1/segments/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(r["name"], r["member_count"]) for r in rows] == [("Gold EMEA", 1)]
    assert api_client.get("/api/v1/segments/gold-emea/").json()["member_count"] == 1
    refused = api_client.patch(f"/api/v1/segments/{body['id']}/", {"name": "Mine"}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only CX admins may change this."}
    assert api_client.delete(f"/api/v1/segments/{body['id']}/").status_code == 403
    assert Segment.objects.get(pk=body["id"]).name == "Gold EMEA"


def test_bad_conditions_are_refused_with_a_400_naming_the_condition(api_client, personas):
    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/segments/", {"name": "Big", "conditions": [
        {"field": "attributes.seats", "operator": "gte", "value": "ten"},
        {"field": "tier", "operator": "lte", "value": 3}]}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"conditions": [
        "Condition 1: “ten” is not a number.",
        "Condition 2: “lte” does not apply to tier; use one of equals, one_of, contains, is_set."]}
    empty = api_client.post("/api/v1/segments/", {"name": "Empty", "conditions": []}, format="json")
    assert empty.status_code == 400 and empty.json() == {"conditions": ["Add at least one condition."]}
    assert not Segment.objects.exists()


def test_the_preview_counts_a_draft_without_saving_it(api_client, personas, customers):
    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/segments/preview/", {
        "match": "any", "conditions": [{"field": "tier", "operator": "equals", "value": "silver"},
                                       {"field": "account_value", "operator": "gte", "value": 1000}]}, format="json")
    assert answer.status_code == 200 and answer.json() == {"member_count": 2}
    assert not Segment.objects.exists()


def test_a_segment_an_alert_rule_names_cannot_be_deleted(api_client, personas):
    segment = segment_save(Segment(name="Gold", conditions=GOLD))
    rule = AlertRuleFactory(name="Gold detractors")
    rule.segments.add(segment)
    api_client.force_authenticate(personas.adam)
    answer = api_client.delete(f"/api/v1/segments/{segment.pk}/")
    assert answer.status_code == 409
    assert answer.json() == {"detail": "“Gold” is used by alert rule “Gold detractors”: take it out of them first."}
    rule.segments.clear()
    assert api_client.delete(f"/api/v1/segments/{segment.pk}/").status_code == 204
    assert not Segment.objects.exists()


def test_changes_are_in_the_audit_trail(api_client, personas):
    api_client.force_authenticate(personas.adam)
    created = api_client.post("/api/v1/segments/", {"name": "Gold", "conditions": GOLD}, format="json").json()
    api_client.patch(f"/api/v1/segments/{created['id']}/", {"match": "any"}, format="json")
    entries = AuditEntry.objects.filter(content_type__model="segment").order_by("id")
    assert [(e.action, e.object_repr) for e in entries] == [(AuditEntry.Action.CREATE, "Gold"),
                                                            (AuditEntry.Action.UPDATE, "Gold")]
    assert entries[1].changes["match"] == ["all", "any"]
    assert entries[1].actor == personas.adam


def _form(name="Gold EMEA", rows=(), match="all", preview=False):
    data = {"name": name, "slug": "", "description": "", "match": match, "conditions-TOTAL_FORMS": str(len(rows) + 1),
            "conditions-INITIAL_FORMS": "0", "conditions-MIN_NUM_FORMS": "0", "conditions-MAX_NUM_FORMS": "20"}
    for index, row in enumerate([*rows, ("", "", "", "")]):
        field, key, operator, value = row
        data.update({f"conditions-{index}-field": field, f"conditions-{index}-key": key,
                     f"conditions-{index}-operator": operator, f"conditions-{index}-value": value})
    if preview:
        data["preview"] = "1"
    return data


def test_the_settings_page_creates_edits_and_deletes_a_segment(client, personas, customers):
    client.force_login(personas.adam)
    rows = [("tier", "", "one_of", "gold, platinum"), ("attribute", "region", "equals", "EMEA")]
    preview = client.post("/settings/segments/new/", _form(rows=rows, preview=True), HTTP_HX_REQUEST="true")
    assert preview.status_code == 200
    assert "1 customer matches now." in text(preview)
    assert not Segment.objects.exists()

    saved = client.post("/settings/segments/new/", _form(rows=rows))
    assert saved.status_code == 302 and saved["Location"] == "/settings/segments/"
    segment = Segment.objects.get()
    assert segment.conditions == [{"field": "tier", "operator": "one_of", "value": ["gold", "platinum"]},
                                  {"field": "attributes.region", "operator": "equals", "value": "EMEA"}]

    listing = text(client.get("/settings/segments/"))
    assert "Gold EMEA" in listing and "Tier is one of gold, platinum" in listing and "Region equals EMEA" in listing
    edit = client.get(f"/settings/segments/{segment.pk}/")
    assert "1 customer matches now." in text(edit)

    changed = client.post(f"/settings/segments/{segment.pk}/", _form(rows=[("tier", "", "equals", "gold")]))
    assert changed.status_code == 302
    segment.refresh_from_db()
    assert segment.conditions == GOLD
    deleted = client.post(f"/settings/segments/{segment.pk}/delete/")
    assert deleted.status_code == 302 and not Segment.objects.exists()


def test_the_settings_page_refuses_bad_rows_in_words(client, personas):
    client.force_login(personas.adam)
    answer = client.post("/settings/segments/new/", _form(rows=[("account_value", "", "gte", "a lot")]))
    assert answer.status_code == 422
    assert "Condition 1: “a lot” is not a number." in text(answer)
    nothing = client.post("/settings/segments/new/", _form(rows=[]))
    assert nothing.status_code == 422 and "Add at least one condition." in text(nothing)
    assert not Segment.objects.exists()


def test_the_settings_pages_are_for_admins(client, personas):
    client.force_login(personas.mia)
    assert client.get("/settings/segments/").status_code in (403, 404)
    assert client.post("/settings/segments/new/", _form(rows=[("tier", "", "equals", "gold")])).status_code in (403, 404)
    assert not Segment.objects.exists()


SEGMENT_LIST_QUERIES = 8


def test_the_list_page_counts_members_in_one_query_whatever_the_number_of_segments(
        client, personas, customers, django_assert_max_num_queries):
    for n in range(12):
        segment_save(Segment(name=f"Segment {n}", conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
    client.force_login(personas.adam)
    with django_assert_max_num_queries(SEGMENT_LIST_QUERIES):
        page = client.get("/settings/segments/")
    assert page.status_code == 200
    assert text(page).count('<td class="num">2</td>') == 12


@pytest.mark.parametrize("ref", ["%00%01%1F", "99999999999999999999999", "no-such-segment"])
def test_a_reference_that_names_no_segment_is_a_404(api_client, personas, ref):
    from tests.factories import api_key_for

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.adam)}")
    assert api_client.get(f"/api/v1/segments/{ref}/").status_code == 404
