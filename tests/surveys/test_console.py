"""The delivery console: admins only; raw bodies escaped; replay; mapping preview without saving."""

from __future__ import annotations

import json

import pytest
from django.utils.html import escape

from surveys.models import SurveyResponse, WebhookDelivery
from surveys.services import delivery_process
from tests.factories import PASSWORD
from tests.surveys.payloads import closeloop_body, make_source
from tests.surveys.test_processing import HOSTILE

pytestmark = pytest.mark.django_db


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_it_is_a_404_for_everyone_but_admins(client, personas):
    source = make_source("standard")
    for user in (personas.alice, personas.mia):
        _login(client, user)
        assert client.get("/surveys/deliveries/").status_code == 404
        assert client.get(f"/surveys/deliveries/{source.slug}/").status_code == 404
    _login(client, personas.adam)
    page = client.get("/surveys/deliveries/")
    assert page.status_code == 200 and source.slug in page.content.decode()


def test_hostile_comments_are_shown_escaped(client, personas):
    source = make_source("standard")
    for i, comment in enumerate(HOSTILE):
        d = WebhookDelivery.objects.create(source=source, delivery_id=f"h{i}", content_type="application/json",
                                           body=closeloop_body(response_id=f"h{i}", comment=comment))
        delivery_process(delivery_pk=d.pk)
    _login(client, personas.adam)
    for i, comment in enumerate(HOSTILE):
        d = WebhookDelivery.objects.get(delivery_id=f"h{i}")
        html = client.get(f"/surveys/deliveries/{source.slug}/{d.pk}/").content.decode()
        assert "<script>alert" not in html and "<b>bold" not in html
        assert escape(json.dumps(comment, ensure_ascii=False)[1:-1]) in html  # emoji and RTL text as sent (not \u escapes), markup escaped
    assert sorted(SurveyResponse.objects.values_list("comment", flat=True)) == sorted(HOSTILE)


def test_mapping_preview_shows_the_result_without_saving_and_save_then_replay(client, personas):
    source = make_source("generic", auth={"mode": "token"})
    d = WebhookDelivery.objects.create(source=source, delivery_id="g1", content_type="application/json",
                                       body=json.dumps({"t": {"id": "T-1", "score": 4, "note": "ok"}}).encode())
    assert delivery_process(delivery_pk=d.pk) == "failed"
    _login(client, personas.adam)
    url = f"/surveys/deliveries/{source.slug}/{d.pk}/"
    mapping = json.dumps({"csat": "t.score", "response_id": "t.id", "comment": "t.note"})
    page = client.post(url, {"mapping": mapping, "action": "preview"}).content.decode()
    assert "CSAT" in page and "4 on 1–5" in page
    source.refresh_from_db()
    assert source.mapping == {} and not SurveyResponse.objects.exists()
    client.post(url, {"mapping": mapping, "action": "save"})
    source.refresh_from_db()
    assert source.mapping["csat"] == "t.score"
    client.post(f"/surveys/deliveries/{source.slug}/replay-failed/")
    d.refresh_from_db()
    assert d.status == "pending"  # queued on commit (runs in the worker)
    assert delivery_process(delivery_pk=d.pk) == "processed"
    assert SurveyResponse.objects.get().csat == 4


def test_preview_reports_a_bad_mapping(client, personas):
    source = make_source("standard")
    d = WebhookDelivery.objects.create(source=source, delivery_id="x", content_type="application/json",
                                       body=closeloop_body())
    _login(client, personas.adam)
    page = client.post(f"/surveys/deliveries/{source.slug}/{d.pk}/", {"mapping": '{"bogus": "a"}', "action": "preview"})
    assert "Unknown mapping key" in page.content.decode()
