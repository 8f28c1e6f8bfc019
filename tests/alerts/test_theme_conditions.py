"""Alert rules on themes: "the comment is about any of these themes" — evaluation, words,
validation, the editor and API, the backtest, and a rule opening a case through the normal
record path (themes are stored before alerts run)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from alerts import services
from alerts.backtest import backtest
from alerts.forms import AlertRuleForm
from alerts.models import Alert, AlertRule
from alerts.rules import RuleSet, compile_rule, evaluate
from alerts.selectors import active_rules
from alerts.summary import rule_summary
from alerts.validation import rule_problems
from surveys.models import ResponseTheme, SurveyResponse
from surveys.ingest import delivery_store
from surveys.services import delivery_process, theme_create
from tests.alerts.helpers import customer, defaults_off, draft, fake, response, rule
from tests.factories import PASSWORD, api_key_for
from tests.surveys.payloads import closeloop_body, make_source
from alerts.reasons import describe_reasons

pytestmark = pytest.mark.django_db


@pytest.fixture
def themes(db):
    return {
        "delivery": theme_create(name="Delivery delays", keywords=["courier", "late delivery"]),
        "staff": theme_create(name="Staff attitude", keywords=["rude", "unfriendly"]),
        "price": theme_create(name="Price", keywords=["expensive"]),
    }


def _compiled(themes, *names, **data):
    chosen = [themes[n] for n in names]
    return compile_rule(draft(**data), survey_ids=[], theme_ids=[t.pk for t in chosen],
                        theme_names={t.pk: t.name for t in chosen})


def test_a_theme_rule_matches_a_comment_about_any_of_its_themes(themes):
    compiled = _compiled(themes, "delivery", "staff")
    ids = {name: theme.pk for name, theme in themes.items()}
    about_staff = fake(nps=3, comment="so rude")
    [match] = evaluate(about_staff, RuleSet([compiled]), theme_ids=frozenset({ids["staff"], ids["price"]}))
    assert describe_reasons(match.reasons)[-1] == "comment is about “Staff attitude”"
    assert evaluate(fake(nps=3, comment="too expensive"), [compiled], theme_ids=frozenset({ids["price"]})) == []
    assert evaluate(fake(nps=3, comment="no themes loaded"), [compiled]) == []  # about no theme


def test_the_reason_names_every_theme_that_matched(themes):
    compiled = _compiled(themes, "delivery", "staff")
    both = frozenset({themes["delivery"].pk, themes["staff"].pk})
    [match] = evaluate(fake(nps=1, comment="x"), [compiled], theme_ids=both)
    assert describe_reasons(match.reasons)[-1] == "comment is about “Delivery delays” and “Staff attitude”"


def test_the_summary_says_which_themes(themes):
    saved = rule(name="Delivery")
    services.rule_update(rule=saved, data={"sentiment": "negative"}, themes=[themes["delivery"], themes["staff"]])
    assert "with a comment about “Delivery delays” or “Staff attitude” and a negative comment" in rule_summary(saved)


def test_themes_and_without_a_comment_contradict_each_other(themes):
    problems = rule_problems({"metric": "nps", "threshold": 6, "comment_presence": "without",
                              "themes": [themes["staff"]]})
    assert "themes or sentiment cannot also require “without a comment”" in problems["comment_presence"][0]
    with pytest.raises(ValidationError, match="without a comment"):
        services.rule_create(data={"name": "X", "metric": "nps", "threshold": Decimal(6),
                                   "comment_presence": "without"}, themes=[themes["staff"]])
    saved = services.rule_create(data={"name": "Y", "metric": "nps", "threshold": Decimal(6)}, themes=[themes["staff"]])
    with pytest.raises(ValidationError, match="without a comment"):
        services.rule_update(rule=saved, data={"comment_presence": "without"})


def test_changing_a_rules_themes_reaches_the_cached_rules_at_once(themes):
    defaults_off()
    saved = rule(name="Staff")
    assert active_rules()[0].themes is None
    services.rule_update(rule=saved, data={}, themes=[themes["staff"]])
    assert active_rules()[0].themes == frozenset({themes["staff"].pk})


def test_a_theme_rule_opens_a_case_through_the_normal_record_path(personas, themes):
    from cases.models import Case

    defaults_off()
    rule(name="Rude staff", threshold=Decimal(10), case_team=personas.north)
    services.rule_update(rule=AlertRule.objects.get(name="Rude staff"), data={}, themes=[themes["staff"]])
    source = make_source("standard")
    for rid, comment in [("about-staff", "The man at the desk was RUDE"), ("about-price", "Too expensive")]:
        delivery, _ = delivery_store(source=source, delivery_id=rid, content_type="application/json", headers={},
                                     body=closeloop_body(response_id=rid, nps=8, comment=comment,
                                                         external_id=rid, email=f"{rid}@example.com"))
        assert delivery_process(delivery_pk=delivery.pk) == "processed"
    alert = Alert.objects.get()
    assert alert.response.external_id == "about-staff"
    assert "comment is about “Staff attitude”" in describe_reasons(alert.reasons)
    case = Case.objects.get()
    assert case.team == personas.north and case.customer == alert.response.customer


def test_a_reloaded_response_gets_its_themes_loaded_for_evaluation(personas, themes):
    from alerts.services import alerts_raise_for_response

    defaults_off()
    services.rule_create(data={"name": "Price", "metric": "nps", "threshold": Decimal(10), "action": "notify",
                               "notify_team": personas.north}, themes=[themes["price"]])
    stored = response(nps=4, comment="Too expensive", cust=customer())
    ResponseTheme.objects.create(response=stored, theme=themes["price"], matches=["expensive"],
                                 answered_at=stored.answered_at)
    assert len(alerts_raise_for_response(response=SurveyResponse.objects.get(pk=stored.pk))) == 1


def test_the_backtest_replays_a_theme_rule(personas, themes):
    hits = []
    for comment, theme in [("rude", "staff"), ("rude again", "staff"), ("courier", "delivery")]:
        stored = response(nps=3, comment=comment, cust=customer())
        ResponseTheme.objects.create(response=stored, theme=themes[theme], matches=[comment],
                                     answered_at=stored.answered_at)
        hits.append(stored)
    response(nps=3, comment="no theme", cust=customer())
    result = backtest(draft(name="Staff"), days=30, survey_ids=[], theme_ids=[themes["staff"].pk],
                      theme_names={themes["staff"].pk: "Staff attitude"})
    assert (result.alerts, result.cases) == (2, 2)
    assert result.samples[0]["reasons"][-1] == "comment is about “Staff attitude”"


def _form_data(**values):
    data = {"name": "Staff", "metric": "nps", "operator": "lte", "threshold": "6", "keyword_mode": "any",
            "action": "open_case", "case_priority": "high", "repeat_window_days": "14", "active": "on",
            "bt-days": "30"}
    data.update(values)
    return data


def test_the_editor_offers_active_themes_and_saves_them_through_the_service(themes):
    from surveys.services import theme_decide

    theme_decide(theme_id=themes["price"].pk, decision="retire", by=None)
    form = AlertRuleForm(_form_data(themes=[themes["staff"].pk]))
    assert set(form.fields["themes"].queryset) == {themes["delivery"], themes["staff"]}
    assert form.is_valid(), form.errors
    saved = services.rule_create(data={k: v for k, v in form.rule_data().items() if k != "order"},
                                 **form.m2m_data())
    assert list(saved.themes.all()) == [themes["staff"]]
    refused = AlertRuleForm(_form_data(themes=[themes["staff"].pk], comment_presence="without"))
    assert not refused.is_valid() and "without a comment" in str(refused.errors["comment_presence"])


def test_the_editor_preview_and_draft_backtest_use_the_chosen_themes(client, personas, themes):
    stored = response(nps=2, comment="So rude", cust=customer(), team=personas.north)
    ResponseTheme.objects.create(response=stored, theme=themes["staff"], matches=["rude"],
                                 answered_at=stored.answered_at)
    response(nps=2, comment="Too expensive", cust=customer(), team=personas.north)
    assert client.login(username="adam", password=PASSWORD)
    preview = client.post(reverse("alerts:rule_preview"), _form_data(themes=[themes["staff"].pk]))
    assert "with a comment about “Staff attitude”" in preview.content.decode()
    page = client.post(reverse("alerts:rule_create"), _form_data(themes=[themes["staff"].pk], _backtest="1"))
    assert page.status_code == 200
    assert "So rude" in page.content.decode() and "Too expensive" not in page.content.decode()


def test_saving_the_editor_keeps_the_chosen_themes(client, personas, themes):
    assert client.login(username="adam", password=PASSWORD)
    page = client.post(reverse("alerts:rule_create"), _form_data(themes=[themes["staff"].pk]))
    assert page.status_code in (200, 302)
    saved = AlertRule.objects.get(name="Staff")
    assert list(saved.themes.all()) == [themes["staff"]]
    assert any(r.themes for r in active_rules() if r.id == saved.pk)


def test_the_api_takes_themes_by_slug(api_client, personas, themes):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.adam)}")
    base = {"name": "Staff", "metric": "nps", "operator": "lte", "threshold": "6"}
    created = api_client.post("/api/v1/alert-rules/", {**base, "themes": ["staff-attitude"]}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["themes"] == ["staff-attitude"]
    assert "about “Staff attitude”" in created.json()["summary"]
    unknown = api_client.post("/api/v1/alert-rules/", {**base, "themes": ["nope"]}, format="json")
    assert unknown.status_code == 400 and "themes" in unknown.json()
    contradiction = api_client.patch(f"/api/v1/alert-rules/{created.json()['id']}/",
                                     {"comment_presence": "without"}, format="json")
    assert contradiction.status_code == 400 and "without a comment" in str(contradiction.json())
    trial = api_client.post("/api/v1/alert-rules/backtest/", {**base, "themes": ["staff-attitude"], "days": 7},
                            format="json")
    assert trial.status_code == 200 and trial.json()["alerts"] == 0
