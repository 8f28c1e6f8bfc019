"""A rule that cannot match is refused with a message naming the field, the same way in the
model, the editor form and the API (alerts.validation.rule_problems)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from alerts.api.serializers import AlertRuleSerializer
from alerts.forms import AlertRuleForm
from alerts.models import AlertRule
from alerts.validation import rule_problems

CASES = [
    ({"metric": "nps", "threshold": 11}, "threshold", "outside the NPS scale 0–10"),
    ({"metric": "csat", "threshold": 6}, "threshold", "outside the CSAT scale 1–5"),
    ({"metric": "csat", "threshold": 6, "scale_min": 1, "scale_max": 7}, None, None),
    ({"metric": "ces", "threshold": 0}, "threshold", "outside the CES scale 1–7"),
    ({"metric": "nps", "operator": "between", "threshold": 3}, "threshold_high", "needs an upper bound"),
    ({"metric": "nps", "operator": "between", "threshold": 6, "threshold_high": 3}, "threshold_high", "below the lower bound"),
    ({"metric": "nps", "threshold": 3, "keyword_mode": "all", "keywords": []}, "keywords", "“All of” needs at least one"),
    ({"metric": "custom", "threshold": 3, "scale_min": 0, "scale_max": 10}, "metric_key", "Name the question key"),
    ({"metric": "custom", "metric_key": "q1", "threshold": 3}, "scale_min", "Give the question's scale"),
    ({"metric": "csat", "threshold": 3, "scale_min": 5, "scale_max": 1}, "scale_max", "must be above its bottom"),
    ({"metric": "nps", "threshold": 3, "comment_presence": "without", "keywords": ["rude"]}, "comment_presence", "cannot also"),
]


def base(**values):
    data = {"metric": "nps", "operator": "lte", "threshold": 6, "threshold_high": None, "scale_min": None,
            "scale_max": None, "keywords": [], "keyword_mode": "any", "comment_presence": "", "sentiment": ""}
    data.update(values)
    return data


@pytest.mark.parametrize("values,field,message", CASES)
def test_validator_names_the_field(values, field, message):
    problems = rule_problems(base(**values))
    if field is None:
        assert problems == {}
    else:
        assert message in " ".join(problems[field])


@pytest.mark.django_db
@pytest.mark.parametrize("values,field,message", [c for c in CASES if c[1]])
def test_model_clean_refuses(values, field, message):
    rule = AlertRule(name="Bad", **{k: v for k, v in base(**values).items()})
    with pytest.raises(ValidationError) as raised:
        rule.full_clean()
    assert message in " ".join(raised.value.message_dict[field])


def form_data(**values):
    data = {"name": "Bad", "metric": "nps", "operator": "lte", "threshold": "6", "keyword_mode": "any",
            "action": "open_case", "case_priority": "normal", "repeat_window_days": "14", "active": "on"}
    data.update({k: ("" if v is None else ", ".join(v) if isinstance(v, list) else str(v)) for k, v in values.items()})
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("values,field,message", [c for c in CASES if c[1]])
def test_form_refuses_next_to_the_field(values, field, message):
    form = AlertRuleForm(form_data(**values))
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])


@pytest.mark.django_db
def test_form_requires_someone_to_notify():
    form = AlertRuleForm(form_data(action="notify"))
    assert not form.is_valid()
    assert form.errors["notify_users"] == ["Choose the people or the team to e-mail."]


@pytest.mark.django_db
@pytest.mark.parametrize("values,field,message", [c for c in CASES if c[1]])
def test_api_serializer_refuses(values, field, message):
    payload = {"name": "Bad", **{k: v for k, v in values.items()}}
    serializer = AlertRuleSerializer(data=payload)
    assert not serializer.is_valid()
    assert message in " ".join(str(e) for e in serializer.errors[field])


@pytest.mark.django_db
def test_a_sound_rule_passes_everywhere():
    values = {"metric": "csat", "threshold": Decimal("2"), "keywords": ["refund"], "keyword_mode": "all"}
    assert rule_problems(base(**values)) == {}
    assert AlertRuleForm(form_data(**values)).is_valid()
    assert AlertRuleSerializer(data={"name": "Good", **values}).is_valid()
