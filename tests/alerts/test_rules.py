"""The pure evaluator: conditions, scales, keywords, sentiment, order and stop-evaluation."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from alerts.rules import RuleSet, compile_rule, evaluate, normalize_text
from tests.alerts.helpers import draft, fake
from alerts.reasons import describe_reasons


def compiled(survey_ids=(), **data):
    return compile_rule(draft(**data), survey_ids=list(survey_ids), survey_names={})


def names(matches):
    return [m.rule.name for m in matches]


def test_it_matches_a_detractor_and_says_why():
    rule = compiled(name="Detractor")
    (match,) = evaluate(fake(nps=3), [rule])
    assert describe_reasons(match.reasons) == ["NPS 3 is at most 6"]


def test_it_ignores_a_response_without_the_metric():
    assert evaluate(fake(nps=None, csat=Decimal("1"), csat_scale_min=1, csat_scale_max=5), [compiled()]) == []


def test_csat_on_another_scale_is_another_question():
    rule = compiled(metric="csat", threshold=Decimal("2"), scale_min=1, scale_max=5)
    assert evaluate(fake(csat=Decimal("2"), csat_scale_min=1, csat_scale_max=5), [rule])
    assert evaluate(fake(csat=Decimal("2"), csat_scale_min=1, csat_scale_max=10), [rule]) == []


def test_between_includes_both_ends():
    rule = compiled(operator="between", threshold=Decimal("7"), threshold_high=Decimal("8"))
    assert [bool(evaluate(fake(nps=n), [rule])) for n in (6, 7, 8, 9)] == [False, True, True, False]


def test_high_effort_ces_matches_either_direction_of_the_source():
    rule = compiled(metric="ces", threshold=Decimal("2"), scale_min=1, scale_max=7, ces_high_is_easy=True)
    easy_high = dict(ces_scale_min=1, ces_scale_max=7, ces_high_is_easy=True)
    effort_high = dict(ces_scale_min=1, ces_scale_max=7, ces_high_is_easy=False)
    assert evaluate(fake(ces=Decimal("2"), **easy_high), [rule])
    assert not evaluate(fake(ces=Decimal("6"), **easy_high), [rule])
    (match,) = evaluate(fake(ces=Decimal("6"), **effort_high), [rule])  # 6 of 7 effort = 2 of 7 ease
    assert describe_reasons(match.reasons) == ["CES 6 of 1–7 (7 = most effort), 2 where 7 = easiest is at most 2"]
    assert not evaluate(fake(ces=Decimal("2"), **effort_high), [rule])


def test_csat_reasons_say_the_score_as_everywhere_else():
    """The reason on an alert uses the same words as the inbox and e-mails (surveys.vocabulary)."""
    rule = compiled(metric="csat", threshold=Decimal("2"), scale_min=1, scale_max=5)
    (match,) = evaluate(fake(csat=Decimal("2"), csat_scale_min=1, csat_scale_max=5), [rule])
    assert describe_reasons(match.reasons) == ["CSAT 2 of 1–5 is at most 2"]
    rule = compiled(metric="csat", threshold=Decimal("3"), scale_min=0, scale_max=10)
    (match,) = evaluate(fake(csat=Decimal("2.5"), csat_scale_min=0, csat_scale_max=10), [rule])
    assert describe_reasons(match.reasons) == ["CSAT 2.5 of 0–10 is at most 3"]


def test_a_ces_rule_written_as_effort_high_reads_the_same():
    rule = compiled(metric="ces", operator="gte", threshold=Decimal("6"), scale_min=1, scale_max=7,
                    ces_high_is_easy=False)
    assert evaluate(fake(ces=Decimal("2"), ces_scale_min=1, ces_scale_max=7, ces_high_is_easy=True), [rule])
    assert evaluate(fake(ces=Decimal("7"), ces_scale_min=1, ces_scale_max=7, ces_high_is_easy=False), [rule])
    assert not evaluate(fake(ces=Decimal("4"), ces_scale_min=1, ces_scale_max=7, ces_high_is_easy=False), [rule])


def test_custom_question_reads_scores_on_its_scale():
    rule = compiled(metric="custom", metric_key="delivery", threshold=Decimal("3"), scale_min=0, scale_max=10)
    scores = {"delivery": {"metric": "custom", "value": 2.0, "min": 0, "max": 10, "higher_is_better": True}}
    (match,) = evaluate(fake(scores=scores), [rule])
    assert describe_reasons(match.reasons) == ["“delivery” 2 of 0–10 is at most 3"]
    other_scale = {"delivery": {**scores["delivery"], "max": 5}}
    assert evaluate(fake(scores=other_scale), [rule]) == []


def test_segment_conditions_all_must_hold_and_ignore_case():
    rule = compiled(touchpoints=["Store visit"], customer_tiers=["Tier I"], locations=["North"], channels=["email"])
    base = dict(nps=2, touchpoint="store visit", customer_tier="TIER I", location="Leeds", region="North",
                channel="Email")
    (match,) = evaluate(fake(**base), [rule])
    assert "touchpoint is “Store visit”" in describe_reasons(match.reasons)
    assert "region is “North”" in describe_reasons(match.reasons)
    assert evaluate(fake(**{**base, "customer_tier": "Tier II"}), [rule]) == []
    assert evaluate(fake(**{**base, "touchpoint": "Delivery"}), [rule]) == []


def test_survey_condition_uses_ids():
    rule = compiled(survey_ids=[5])
    assert evaluate(fake(nps=1, survey_id=5), [rule])
    assert evaluate(fake(nps=1, survey_id=6), [rule]) == []


def test_keywords_are_whole_words_without_case_or_accents():
    rule = compiled(threshold=Decimal("10"), keywords=["rude", "café crème"])
    assert evaluate(fake(nps=5, comment="The waiter was RUDE."), [rule])
    assert evaluate(fake(nps=5, comment="Loved the cafe   CREME though"), [rule])
    assert evaluate(fake(nps=5, comment="Crude jokes, prudent staff"), [rule]) == []
    assert evaluate(fake(nps=5, comment=""), [rule]) == []


def test_keyword_mode_all_needs_every_keyword():
    rule = compiled(threshold=Decimal("10"), keywords=["refund", "late"], keyword_mode="all")
    assert evaluate(fake(nps=5, comment="Late again, I want a refund"), [rule])
    assert evaluate(fake(nps=5, comment="I want a refund"), [rule]) == []
    (match,) = evaluate(fake(nps=5, comment="Late again, I want a refund"), [rule])
    assert "comment mentions “refund” and “late”" in describe_reasons(match.reasons)


def test_comment_presence():
    with_comment = compiled(comment_presence="with")
    without = compiled(comment_presence="without")
    assert evaluate(fake(nps=1, comment="Bad"), [with_comment]) and not evaluate(fake(nps=1, comment=" "), [with_comment])
    assert evaluate(fake(nps=1, comment=""), [without]) and not evaluate(fake(nps=1, comment="Bad"), [without])


def test_sentiment_uses_the_stored_score_and_vader_when_missing():
    negative = compiled(threshold=Decimal("10"), sentiment="negative")
    assert evaluate(fake(nps=8, comment="whatever", sentiment=-0.05), [negative])
    assert not evaluate(fake(nps=8, comment="whatever", sentiment=-0.04), [negative])
    assert evaluate(fake(nps=8, comment="Terrible, rude and awful service.", sentiment=None), [negative])
    assert not evaluate(fake(nps=8, comment="Wonderful, friendly staff!", sentiment=None), [negative])
    assert not evaluate(fake(nps=8, comment="", sentiment=None), [negative])


def test_a_comment_analysed_as_another_language_without_a_score_has_no_sentiment():
    """VADER reads English only: a French comment stored without a sentiment (no score to fall
    back on) matches neither a negative nor a positive condition, instead of being guessed."""
    negative = compiled(threshold=Decimal("10"), sentiment="negative")
    positive = compiled(threshold=Decimal("10"), sentiment="positive")
    french = fake(nps=8, comment="Pas super du tout, vraiment nul", sentiment=None, language="fr")
    assert not evaluate(french, [negative]) and not evaluate(french, [positive])
    english = fake(nps=8, comment="Terrible, rude and awful service.", sentiment=None, language="en")
    assert evaluate(english, [negative])


def test_rules_run_in_order_and_stop_processing_ends_evaluation():
    first = compiled(name="first", order=10)
    stopper = compiled(name="stopper", order=20, stop_processing=True, threshold=Decimal("3"))
    last = compiled(name="last", order=30)
    rules = RuleSet([last, stopper, first])
    assert names(evaluate(fake(nps=2), rules)) == ["first", "stopper"]
    assert names(evaluate(fake(nps=5), rules)) == ["first", "last"]  # the stopper did not match


def test_order_holds_across_metrics():
    csat = compiled(name="csat", order=5, metric="csat", threshold=Decimal("2"))
    nps = compiled(name="nps", order=1, stop_processing=True)
    response = fake(nps=2, csat=Decimal("1"), csat_scale_min=1, csat_scale_max=5)
    assert names(evaluate(response, [csat, nps])) == ["nps"]


def test_normalize_text_strips_accents_and_case():
    assert normalize_text("Ça ÉTAIT Très RUDE") == "ca etait tres rude"


scales = st.tuples(st.integers(-5, 5), st.integers(1, 20)).map(lambda t: (t[0], t[0] + t[1]))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), scale=scales, operator=st.sampled_from(["lte", "gte", "between"]))
def test_property_match_is_exactly_the_comparison(data, scale, operator):
    lo, hi = scale
    hundredths = st.integers(lo * 100, hi * 100).map(lambda n: Decimal(n) / 100)
    value = data.draw(hundredths, "value")
    low = data.draw(hundredths, "threshold")
    high = data.draw(st.integers(int(low * 100), hi * 100).map(lambda n: Decimal(n) / 100), "high")
    rule = compiled(metric="csat", operator=operator, threshold=low, threshold_high=high if operator == "between" else None,
                    scale_min=lo, scale_max=hi)
    response = fake(csat=value, csat_scale_min=lo, csat_scale_max=hi)
    expected = {"lte": value <= low, "gte": value >= low, "between": low <= value <= high}[operator]
    assert bool(evaluate(response, [rule])) is expected
    assert evaluate(response, [rule]) == evaluate(response, [rule])
