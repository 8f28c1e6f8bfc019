"""/api/v1/journeys/: managers read, CX admins write, everyone else finds nothing; and the
journey_stage filter of /api/v1/responses/ and the inbox."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from journeys.models import Journey, Stage, StageMapping
from tests.journeys.conftest import journey_with_stages

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def shape(journey_json: dict) -> list:
    return [(s["name"], s["position"], [(m["kind"], m["touchpoint"] or m["survey"] or m["source"]) for m in s["mappings"]])
            for s in journey_json["stages"]]


def test_a_manager_reads_journeys_with_stages_and_mappings(personas):
    journey, (buy, receive, get_help), helpdesk = journey_with_stages()
    response = api(personas.mia).get("/api/v1/journeys/")
    assert response.status_code == 200
    [body] = response.json()
    assert body["name"] == "Subscriber"
    support_id = StageMapping.objects.get(kind="survey").survey_id
    assert shape(body) == [
        ("Buy", 0, [("source", "helpdesk"), ("touchpoint", "Checkout")]),
        ("Receive", 1, [("touchpoint", "Delivery")]),
        ("Get help", 2, [("survey", support_id)]),
    ]


def test_a_manager_may_not_write_and_an_agent_finds_nothing(personas):
    assert api(personas.mia).post("/api/v1/journeys/", {"name": "X"}, format="json").status_code == 403
    assert api(personas.alice).get("/api/v1/journeys/").status_code == 404
    assert APIClient().get("/api/v1/journeys/").status_code == 401
    assert Journey.objects.count() == 0


def test_an_admin_creates_reorders_maps_and_deletes(personas):
    client = api(personas.adam)
    created = client.post("/api/v1/journeys/", {"name": "Subscriber", "stages": ["Buy", "Use", "Renew"]}, format="json")
    assert created.status_code == 201
    journey_id = created.json()["id"]
    ids = {s["name"]: s["id"] for s in created.json()["stages"]}
    reordered = client.post(f"/api/v1/journeys/{journey_id}/reorder/",
                            {"stages": [ids["Renew"], ids["Buy"], ids["Use"]]}, format="json")
    assert [s["name"] for s in reordered.json()["stages"]] == ["Renew", "Buy", "Use"]
    added = client.post(f"/api/v1/journeys/{journey_id}/stages/", {"name": "Get help"}, format="json")
    assert [s["name"] for s in added.json()["stages"]] == ["Renew", "Buy", "Use", "Get help"]
    mapped = client.post(f"/api/v1/journeys/{journey_id}/mappings/", {"stage": ids["Use"], "touchpoint": "App"},
                         format="json")
    assert mapped.status_code == 201
    mapping_id = StageMapping.objects.get(touchpoint="App").pk
    renamed = client.patch(f"/api/v1/journeys/{journey_id}/stages/{ids['Use']}/", {"name": "Using it"}, format="json")
    assert [(s["name"], [m["touchpoint"] for m in s["mappings"]]) for s in renamed.json()["stages"]][2] == (
        "Using it", ["App"])
    assert client.delete(f"/api/v1/journeys/{journey_id}/mappings/{mapping_id}/").status_code == 200
    assert client.delete(f"/api/v1/journeys/{journey_id}/stages/{ids['Buy']}/").status_code == 200
    assert list(Stage.objects.order_by("position").values_list("name", "position")) == [
        ("Renew", 0), ("Using it", 1), ("Get help", 2)]
    assert client.patch(f"/api/v1/journeys/{journey_id}/", {"name": "Member"}, format="json").json()["name"] == "Member"
    assert client.delete(f"/api/v1/journeys/{journey_id}/").status_code == 204
    assert Journey.objects.count() == Stage.objects.count() == 0


@pytest.mark.parametrize("payload, field, message", [
    ({"stage": 999999999, "touchpoint": "App"}, "detail", "No such stage in this journey."),
    ({"stage": 0, "touchpoint": "App"}, "stage", "Ensure this value is greater than or equal to 1."),
    ({"stage": "STAGE", "touchpoint": "App", "survey": None, "source": "helpdesk"}, "detail",
     "Map exactly one touchpoint, survey or webhook source."),
    ({"stage": "STAGE", "source": "nowhere"}, "source", "Object with slug=nowhere does not exist."),
])
def test_bad_mappings_are_400s_or_404s_that_say_why(personas, payload, field, message):
    journey, stages, _ = journey_with_stages()
    payload = {k: (stages[0].pk if v == "STAGE" else v) for k, v in payload.items()}
    response = api(personas.adam).post(f"/api/v1/journeys/{journey.pk}/mappings/", payload, format="json")
    assert response.status_code in (400, 404)
    body = response.json()
    text = str(body.get(field, body))
    assert message in text


def test_reorder_must_name_every_stage_once(personas):
    journey, (buy, receive, get_help), _ = journey_with_stages()
    response = api(personas.adam).post(f"/api/v1/journeys/{journey.pk}/reorder/", {"stages": [buy.pk, buy.pk]},
                                       format="json")
    assert response.status_code == 400
    assert "List every stage of the journey exactly once." in str(response.json())


@pytest.mark.parametrize("stages, message", [
    (["Buy", "Use", "Buy"], "The stage “Buy” is named twice."),
    (["Buy", " buy "], "The stage “buy” is named twice."),
])
def test_a_new_journeys_stages_are_refused_whole_when_one_is_blank_or_twice(personas, stages, message):
    """Found by the API fuzzer: a name twice hit the stages' unique constraint (a 500)."""
    response = api(personas.adam).post("/api/v1/journeys/", {"name": "Subscriber", "stages": stages}, format="json")
    assert response.status_code == 400
    assert response.json()["stages"] == [message]
    assert Journey.objects.count() == Stage.objects.count() == 0


def test_the_service_refuses_a_blank_stage_name_before_writing_anything():
    from django.core.exceptions import ValidationError

    from journeys import services

    with pytest.raises(ValidationError) as refused:
        services.journey_create(name="Subscriber", stage_names=["Buy", "  "])
    assert refused.value.message_dict == {"stages": ["Give every stage a name."]}
    assert Journey.objects.count() == 0


def test_responses_and_the_inbox_filter_by_stage(mapped):
    buy = mapped.stages[0]
    # North's Buy responses for mia (her team), and South's too for adam.
    assert api(mapped.mia).get(f"/api/v1/responses/?journey_stage={buy.pk}").json()["count"] == 4
    assert api(mapped.adam).get(f"/api/v1/responses/?journey_stage={buy.pk}").json()["count"] == 5
    assert api(mapped.adam).get("/api/v1/responses/?journey_stage=999999").json()["count"] == 0
    assert api(mapped.mia).get(f"/api/v1/cases/?journey_stage={buy.pk}").status_code == 200


def test_the_inbox_offers_stages_by_name(mapped):
    from django.test import Client

    client = Client()
    client.force_login(mapped.mia)
    response = client.get(f"/cases/?view=team&journey_stage={mapped.stages[0].pk}")
    assert response.context["match_count"] == 1  # North's open Buy case (the source-mapped nps 0)
    page = response.content.decode()
    assert f'<option value="{mapped.stages[0].pk}" selected>Subscriber: Buy</option>' in page
