"""/api/v1/themes/ and the text fields and filters of /api/v1/responses/."""

from __future__ import annotations

import pytest

from surveys.models import SurveyResponse, Theme, WebhookDelivery
from surveys.services import delivery_process, theme_create
from tests.factories import api_key_for
from tests.surveys.payloads import closeloop_body, make_source

pytestmark = pytest.mark.django_db


def _as(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return api_client


@pytest.fixture
def themes(db):
    return {
        "delivery": theme_create(name="Delivery delays", keywords=["courier", "late delivery"]),
        "staff": theme_create(name="Staff attitude", keywords=["rude"]),
        "proposed": Theme.objects.create(name="Wifi", slug="wifi", keywords=["wifi"], status="proposed",
                                         origin="discovered"),
    }


@pytest.fixture
def responses(personas, themes):
    source = make_source("standard")
    made = {}
    for rid, nps, comment in [
        ("courier", 2, "The courier was rude and late 😡"),
        ("staff", 3, "Rude staff at the desk"),
        ("happy", 10, "Wonderful, thank you!"),
        ("french", 1, "Le livreur était très impoli et en retard"),
        ("empty", 8, ""),
    ]:
        d = WebhookDelivery.objects.create(source=source, delivery_id=rid, content_type="application/json",
                                           body=closeloop_body(response_id=rid, nps=nps, comment=comment,
                                                               email=f"{rid}@example.com", external_id=rid))
        delivery_process(delivery_pk=d.pk)
        made[rid] = SurveyResponse.objects.get(external_id=rid)
    SurveyResponse.objects.update(team=personas.north)
    return made


def _ids(answer) -> set[str]:
    assert answer.status_code == 200, answer.content
    return {r["external_id"] for r in answer.json()["results"]}


def test_responses_carry_sentiment_language_and_themes(api_client, personas, responses):
    rows = {r["external_id"]: r for r in _as(api_client, personas.alice).get("/api/v1/responses/").json()["results"]}
    courier = rows["courier"]
    assert courier["themes"] == ["delivery-delays", "staff-attitude"]
    assert courier["theme_matches"] == [{"theme": "delivery-delays", "matches": ["courier"]},
                                        {"theme": "staff-attitude", "matches": ["rude"]}]
    assert courier["sentiment"] < -0.05 and (courier["sentiment_source"], courier["language"]) == ("text", "en")
    assert (rows["french"]["language"], rows["french"]["sentiment_source"], rows["french"]["sentiment"]) == (
        "fr", "score", -0.8)
    assert (rows["empty"]["sentiment"], rows["empty"]["sentiment_source"], rows["empty"]["themes"]) == (None, "", [])


def test_responses_filter_by_theme_any_of_several(api_client, personas, responses):
    client = _as(api_client, personas.alice)
    assert _ids(client.get("/api/v1/responses/?theme=staff-attitude")) == {"courier", "staff"}
    assert _ids(client.get("/api/v1/responses/?theme=delivery-delays")) == {"courier"}
    both = client.get("/api/v1/responses/?theme=delivery-delays&theme=staff-attitude")
    assert _ids(both) == {"courier", "staff"} and both.json()["count"] == 2  # no duplicates


def test_an_unknown_theme_is_a_400_naming_it(api_client, personas, responses):
    answer = _as(api_client, personas.alice).get("/api/v1/responses/?theme=nope")
    assert answer.status_code == 400 and "nope" in str(answer.json())


def test_responses_filter_by_sentiment_and_language(api_client, personas, responses):
    client = _as(api_client, personas.alice)
    assert _ids(client.get("/api/v1/responses/?sentiment=negative")) == {"courier", "staff", "french"}
    assert _ids(client.get("/api/v1/responses/?sentiment=positive")) == {"happy"}
    assert _ids(client.get("/api/v1/responses/?language=FR")) == {"french"}
    assert client.get("/api/v1/responses/?sentiment=angry").status_code == 400


def test_agents_read_active_and_retired_themes_only(api_client, personas, themes):
    client = _as(api_client, personas.alice)
    slugs = [t["slug"] for t in client.get("/api/v1/themes/").json()["results"]]
    assert slugs == ["delivery-delays", "staff-attitude"]
    assert client.get("/api/v1/themes/wifi/").status_code == 404
    one = client.get("/api/v1/themes/delivery-delays/").json()
    assert (one["keywords"], one["status"], one["origin"]) == (["courier", "late delivery"], "active", "admin")


def test_agents_cannot_write_themes(api_client, personas, themes):
    client = _as(api_client, personas.alice)
    assert client.post("/api/v1/themes/", {"name": "X", "keywords": ["x"]}, format="json").status_code == 403
    assert client.patch("/api/v1/themes/delivery-delays/", {"name": "Y"}, format="json").status_code == 403
    assert not Theme.objects.filter(name__in=["X", "Y"]).exists()
    assert Theme.objects.get(slug="delivery-delays").name == "Delivery delays"


def test_admins_create_validate_and_decide(api_client, personas, themes):
    client = _as(api_client, personas.adam)
    assert {t["slug"] for t in client.get("/api/v1/themes/?status=proposed").json()["results"]} == {"wifi"}
    created = client.post("/api/v1/themes/", {"name": "Parking", "keywords": ["parking", " car  park "]},
                          format="json")
    assert created.status_code == 201 and created.json()["keywords"] == ["parking", "car park"]
    bad = client.post("/api/v1/themes/", {"name": "parking", "keywords": []}, format="json")
    assert bad.status_code == 400 and "already exists" in str(bad.json()["name"])
    assert "at least one keyword" in str(bad.json()["keywords"])
    accepted = client.patch("/api/v1/themes/wifi/", {"status": "active", "keywords": ["wifi", "internet"]},
                            format="json")
    assert accepted.status_code == 200 and accepted.json()["status"] == "active"
    assert Theme.objects.get(slug="wifi").keywords == ["wifi", "internet"]
    refused = client.patch("/api/v1/themes/wifi/", {"status": "proposed"}, format="json")
    assert refused.status_code == 400 and "cannot become proposed" in str(refused.json())
    retired = client.patch("/api/v1/themes/parking/", {"status": "retired"}, format="json")
    assert retired.json()["status"] == "retired"
    assert client.delete("/api/v1/themes/parking/").status_code == 405
