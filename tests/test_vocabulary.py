"""One vocabulary (surveys.vocabulary): a comment's sentiment band is read the same way by the
themes report, the case filters (inbox and API), the responses API and the alert rules, right at
VADER's ±0.05 boundaries; NPS groups and scores read the same on pages and in e-mails."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from alerts.rules import compile_rule, evaluate
from alerts.services import alerts_raise_for_response
from reporting import selectors
from reporting.filters import ReportFilters
from surveys.models import SurveyResponse
from surveys.vocabulary import nps_group, primary_score, scores_line, sentiment_band
from tests.alerts.helpers import customer, defaults_off, draft, fake, response, rule
from tests.cases.text_helpers import make_open_case, make_theme, tag
from tests.factories import api_key_for

pytestmark = pytest.mark.django_db

# One case (and its opening response) per boundary value, each about its own theme so the themes
# report's counts can be read per value.
BOUNDARIES = {"at-minus": -0.05, "inside-minus": -0.0499, "inside-plus": 0.0499, "at-plus": 0.05}


@pytest.fixture
def edges(personas):
    made = {}
    for name, sentiment in BOUNDARIES.items():
        case = make_open_case(personas.north, comment=f"comment {name}", sentiment=sentiment)
        tag(case.response, make_theme(name), name)
        made[name] = case
    return made


def _names(edges, refs: set[str]) -> set[str]:
    return {name for name, case in edges.items() if case.reference in refs}


def _case_api(api_client, **params) -> set[str]:
    answer = api_client.get("/api/v1/cases/", params)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    return {row["reference"] for row in (body["results"] if isinstance(body, dict) else body)}


def test_the_stored_values_are_the_boundaries(edges):
    stored = dict(SurveyResponse.objects.filter(pk__in=[c.response_id for c in edges.values()])
                  .values_list("comment", "sentiment"))
    assert stored == {"comment at-minus": -0.05, "comment inside-minus": -0.0499,
                      "comment inside-plus": 0.0499, "comment at-plus": 0.05}


def test_the_themes_report_counts_the_boundaries_as_negative_and_positive(personas, edges):
    table = selectors.themes_volume(ReportFilters(team_ids=frozenset({personas.north.pk})))
    assert {r["theme"]: (r["negative_pct"], r["positive_pct"]) for r in table.rows} == {
        "at-minus": (100.0, 0.0),  # -0.05 is negative, as the inbox and the rules say
        "inside-minus": (0.0, 0.0),
        "inside-plus": (0.0, 0.0),
        "at-plus": (0.0, 100.0),  # 0.05 is positive
    }


def test_the_case_filter_reads_the_same_bands(api_client, personas, edges):
    api_client.force_authenticate(personas.alice)
    assert _names(edges, _case_api(api_client, sentiment="negative")) == {"at-minus"}
    assert _names(edges, _case_api(api_client, sentiment="neutral")) == {"inside-minus", "inside-plus"}
    assert _names(edges, _case_api(api_client, sentiment="positive")) == {"at-plus"}


def test_the_responses_api_reads_the_same_bands(api_client, personas, edges):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.alice)}")

    def comments(band):
        answer = api_client.get("/api/v1/responses/", {"sentiment": band})
        assert answer.status_code == 200, answer.content
        return {r["comment"].removeprefix("comment ") for r in answer.json()["results"]}

    assert comments("negative") == {"at-minus"}
    assert comments("neutral") == {"inside-minus", "inside-plus"}
    assert comments("positive") == {"at-plus"}


def test_alert_rules_match_the_same_bands():
    negative = compile_rule(draft(name="Negative", threshold=Decimal("10"), sentiment="negative"),
                            survey_ids=[], survey_names={})
    positive = compile_rule(draft(name="Positive", threshold=Decimal("10"), sentiment="positive"),
                            survey_ids=[], survey_names={})
    matched = {
        name: [m.rule.name for m in evaluate(fake(nps=8, comment="x", sentiment=value), [negative, positive])]
        for name, value in BOUNDARIES.items()
    }
    assert matched == {"at-minus": ["Negative"], "inside-minus": [], "inside-plus": [], "at-plus": ["Positive"]}


def test_sentiment_band_names_the_same_bands():
    assert [sentiment_band(v) for v in BOUNDARIES.values()] == ["negative", "neutral", "neutral", "positive"]
    assert sentiment_band(None) == ""


def test_nps_groups():
    assert [nps_group(n) for n in (0, 6, 7, 8, 9, 10, None)] == [
        "detractor", "detractor", "passive", "passive", "promoter", "promoter", None]


def test_a_score_reads_the_same_on_the_page_and_in_the_e_mail():
    response = fake(nps=3, csat=Decimal("2"), csat_scale_min=1, csat_scale_max=5, ces=Decimal("6.5"),
                    ces_scale_min=1, ces_scale_max=7, ces_high_is_easy=True)
    assert primary_score(response).text == "NPS 3 of 0–10: detractor"
    assert scores_line(response) == "NPS 3, CSAT 2 of 1–5, CES 6.5 of 1–7"
    assert scores_line(fake()) == ""


def test_the_alert_e_mail_names_the_scores_with_their_scale(personas, django_capture_on_commit_callbacks):
    """The e-mail's scores line is scores_line: the CSAT scale written as the inbox writes it."""
    defaults_off()
    rule(name="Unhappy", metric="csat", threshold=Decimal("2"), scale_min=1, scale_max=5, action="notify",
         notify_users=[personas.adam])
    recorded = response(nps=4, csat=Decimal("2"), csat_scale_min=1, csat_scale_max=5, comment="Slow",
                        cust=customer(name="Dana"))
    with django_capture_on_commit_callbacks(execute=True):
        alerts_raise_for_response(response=recorded)
    (message,) = mail.outbox
    assert message.subject == "[Closeloop] Unhappy: NPS 4, CSAT 2 of 1–5 from Dana"
    assert "Scores: NPS 4, CSAT 2 of 1–5" in message.body
