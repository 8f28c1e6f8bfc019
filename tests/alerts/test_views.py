"""The settings pages: admins only (404 for others), list with summaries, editor, toggle, backtest."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.models import AlertRule
from tests.alerts.helpers import customer, response
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


@pytest.mark.parametrize("who", ["alice", "mia"])
def test_settings_pages_do_not_exist_for_non_admins(client, personas, who):
    login(client, getattr(personas, who))
    for url in (reverse("alerts:rule_list"), reverse("alerts:rule_create")):
        assert client.get(url).status_code == 404


def test_anonymous_is_sent_to_login(client):
    answer = client.get(reverse("alerts:rule_list"))
    assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_list_shows_summaries_in_order(client, personas):
    login(client, personas.adam)
    page = client.get(reverse("alerts:rule_list")).content.decode()
    assert "When NPS is 6 or less, open a Normal case for the team routing picks" in page
    assert page.index("Detractor (NPS 0–6)") < page.index("Promoter praise")
    assert 'href="/alerts/"' in page  # the Settings entry in the navigation


def test_htmx_toggle_returns_the_row(client, personas):
    login(client, personas.adam)
    rule = AlertRule.objects.get(name="Detractor (NPS 0–6)")
    answer = client.post(reverse("alerts:rule_toggle", args=[rule.pk]), HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert f'id="rule-{rule.pk}"' in answer.content.decode() and "Off" in answer.content.decode()
    rule.refresh_from_db()
    assert rule.active is False


def editor_data(**values):
    data = {"name": "Rude words", "metric": "nps", "operator": "lte", "threshold": "10", "keyword_mode": "any",
            "keywords": "rude, refund", "action": "open_case", "case_priority": "high", "repeat_window_days": "14",
            "active": "on", "bt-days": "30"}
    data.update(values)
    return data


def test_editor_shows_errors_next_to_fields(client, personas):
    login(client, personas.adam)
    answer = client.post(reverse("alerts:rule_create"), editor_data(metric="csat", threshold="9"))
    assert answer.status_code == 422
    page = answer.content.decode()
    assert 'id="id_threshold-error"' in page and "outside the CSAT scale 1–5" in page
    assert "CSAT is answered on 1–5" in page
    assert not AlertRule.objects.filter(name="Rude words").exists()


def test_editor_saves_and_edits(client, personas):
    login(client, personas.adam)
    answer = client.post(reverse("alerts:rule_create"), editor_data(case_team=personas.north.pk))
    assert answer.status_code == 302
    rule = AlertRule.objects.get(name="Rude words")
    assert rule.keywords == ["rude", "refund"] and rule.case_team == personas.north
    answer = client.post(reverse("alerts:rule_edit", args=[rule.pk]), editor_data(name="Rude", threshold="8"))
    assert answer.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.threshold) == ("Rude", 8)


def test_editor_backtests_a_draft_without_saving(client, personas):
    response(nps=2, comment="So rude", cust=customer(), team=personas.north)
    login(client, personas.adam)
    answer = client.post(reverse("alerts:rule_create"), editor_data(_backtest="1"))
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "What “Rude words” would have done" in page and "So rude" in page
    assert not AlertRule.objects.filter(name="Rude words").exists()


def test_preview_and_saved_backtest_pages(client, personas):
    login(client, personas.adam)
    preview = client.post(reverse("alerts:rule_preview"), editor_data(metric="ces", threshold="2", ces_high_is_easy="on"))
    assert "CES is answered on 1–7, 7 = easiest" in preview.content.decode()
    assert "When CES is 2 or less" in preview.content.decode()
    rule = AlertRule.objects.get(name="Detractor (NPS 0–6)")
    page = client.get(reverse("alerts:rule_backtest", args=[rule.pk]), {"bt-days": "7"})
    assert page.status_code == 200 and "over the last 7 days" in page.content.decode()


def test_delete_refused_when_alerts_exist(client, personas):
    from alerts.services import alerts_raise_for_response

    alerts_raise_for_response(response=response(nps=1, cust=customer()))
    rule = AlertRule.objects.get(name="Detractor (NPS 0–6)")
    login(client, personas.adam)
    answer = client.post(reverse("alerts:rule_delete", args=[rule.pk]), follow=True)
    assert "disable it instead" in answer.content.decode()
    assert AlertRule.objects.filter(pk=rule.pk).exists()
