"""The journeys settings pages (CX admins): add a journey, its stages in order, map touchpoints,
surveys and sources; every change is in the audit trail."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEntry
from journeys.models import Journey, Stage, StageMapping
from tests.journeys.conftest import journey_with_stages
from tests.reporting import builders as b

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def stage_names(journey) -> list[str]:
    return list(journey.stages.order_by("position").values_list("name", flat=True))


def test_an_admin_adds_a_journey_with_the_usual_stages(personas):
    response = client_for(personas.adam).post("/settings/journeys/", {"name": "Subscriber", "usual_stages": "on"})
    journey = Journey.objects.get(name="Subscriber")
    assert response.status_code == 302 and response["Location"] == f"/settings/journeys/{journey.pk}/"
    assert stage_names(journey) == ["Discover", "Buy", "Receive", "Use", "Get help", "Renew"]


def test_a_duplicate_name_is_refused_beside_the_field(personas):
    client_for(personas.adam).post("/settings/journeys/", {"name": "Subscriber"})
    response = client_for(personas.adam).post("/settings/journeys/", {"name": "subscriber"})
    assert response.status_code == 422
    assert "A journey named “subscriber” exists already." in response.content.decode()
    assert Journey.objects.count() == 1


def test_stages_are_added_renamed_reordered_and_deleted(personas):
    journey = Journey.objects.create(name="Subscriber")
    client = client_for(personas.adam)
    for name in ("Buy", "Use", "Renew"):
        client.post(f"/settings/journeys/{journey.pk}/", {"action": "stage", "stage-name": name})
    assert stage_names(journey) == ["Buy", "Use", "Renew"]
    renew = Stage.objects.get(name="Renew")
    client.post(f"/settings/journeys/stages/{renew.pk}/move/up/")
    assert stage_names(journey) == ["Buy", "Renew", "Use"]
    client.post(f"/settings/journeys/stages/{renew.pk}/", {"name": "Renewal", "description": "The yearly renewal"})
    assert stage_names(journey) == ["Buy", "Renewal", "Use"]
    client.post(f"/settings/journeys/stages/{Stage.objects.get(name='Buy').pk}/delete/")
    assert list(journey.stages.order_by("position").values_list("name", "position")) == [("Renewal", 0), ("Use", 1)]
    assert client.post(f"/settings/journeys/stages/{renew.pk}/move/sideways/").status_code == 404


def test_the_page_lists_unmapped_touchpoints_with_counts_and_maps_one(mapped):
    client = client_for(mapped.adam)
    journey = mapped.journey
    html = client.get(f"/settings/journeys/{journey.pk}/").content.decode()
    assert "<td>Phone</td><td class=\"num\">3</td><td class=\"num\">0</td>" in html
    assert "<td>Store</td><td class=\"num\">1</td><td class=\"num\">1</td>" in html
    get_help = mapped.stages[2]
    response = client.post(f"/settings/journeys/{journey.pk}/",
                           {"action": "mapping", "map-stage": get_help.pk, "map-touchpoint": "Store"})
    assert response.status_code == 302
    assert StageMapping.objects.get(journey=journey, touchpoint="Store").stage == get_help
    assert "<td>Store</td>" not in client.get(f"/settings/journeys/{journey.pk}/").content.decode()


def test_mapping_what_is_mapped_moves_it_to_the_new_stage(mapped):
    buy, receive, _ = mapped.stages
    client_for(mapped.adam).post(f"/settings/journeys/{mapped.journey.pk}/",
                                 {"action": "mapping", "map-stage": receive.pk, "map-touchpoint": "Checkout"})
    assert list(StageMapping.objects.filter(touchpoint="Checkout").values_list("stage_id", flat=True)) == [receive.pk]


def test_a_mapping_names_exactly_one_target(mapped):
    response = client_for(mapped.adam).post(f"/settings/journeys/{mapped.journey.pk}/", {
        "action": "mapping", "map-stage": mapped.stages[0].pk, "map-touchpoint": "Store",
        "map-survey": b.survey("Support").pk})
    assert response.status_code == 422
    assert "Fill in exactly one of touchpoint, survey and webhook source." in response.content.decode()


def test_managers_and_agents_do_not_find_the_settings(personas):
    journey = Journey.objects.create(name="Subscriber")
    for user in (personas.mia, personas.alice):
        assert client_for(user).get("/settings/journeys/").status_code == 404
        assert client_for(user).post(f"/settings/journeys/{journey.pk}/delete/").status_code == 404
    assert Journey.objects.count() == 1


def test_changes_are_in_the_audit_trail(personas):
    client = client_for(personas.adam)
    since = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    journey, (buy, receive, get_help), _ = journey_with_stages()
    client.post(f"/settings/journeys/stages/{get_help.pk}/move/up/")
    client.post(f"/settings/journeys/{journey.pk}/delete/")
    entries = [(e.action_name, e.content_type.model, e.object_repr)
               for e in AuditEntry.objects.filter(pk__gt=since).select_related("content_type").order_by("pk")]
    assert entries[:4] == [("create", "journey", "Subscriber"), ("create", "stage", "Buy"),
                           ("create", "stage", "Receive"), ("create", "stage", "Get help")]
    assert ("update", "stage", "Get help") in entries and ("update", "stage", "Receive") in entries
    assert ("delete", "journey", "Subscriber") in entries
    assert ("create", "stagemapping", "Touchpoint: Checkout → Buy") in entries
