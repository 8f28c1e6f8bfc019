"""The default rules cover every scale the product accepts (issue #17: a CES answer on a 1-5
scale opened no case). docs/scales.md's table is checked against alerts/defaults.py, the
migrations that seed the rows, and what actually happens to the last low answer and the first
one above it on each row, sent through a generic webhook source."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from alerts.defaults import DEFAULT_RULES, default_rules_ensure
from alerts.models import Alert, AlertRule
from alerts.validation import rule_problems
from cases.models import Case
from surveys.models import SurveyResponse, WebhookDelivery
from surveys.services import delivery_process, source_create

DOC = Path(__file__).resolve().parents[2] / "docs" / "scales.md"
ROW = re.compile(r"^\| (NPS|CSAT|CES) \| (\d+)–(\d+) \| (\d+) = ([^|]+?) \| (\d+)(?:–(\d+))? \| ([^|]+?) \|$")


def _doc_rows() -> list[dict]:
    rows = []
    for line in DOC.read_text().splitlines():
        if match := ROW.match(line):
            metric, lo, hi, end, meaning, first, last, rule = match.groups()
            rows.append({"metric": metric.lower(), "scale": (int(lo), int(hi)),
                         "top_is_best": not meaning.startswith("most effort"),
                         "low": (int(first), int(last if last is not None else first)), "rule": rule})
    return rows


ROWS = _doc_rows()


def test_the_table_has_a_row_for_every_accepted_scale_and_direction():
    assert [(r["metric"], r["scale"], r["top_is_best"]) for r in ROWS] == [
        ("nps", (0, 10), True), ("csat", (1, 5), True), ("csat", (1, 7), True), ("csat", (1, 10), True),
        ("csat", (0, 1), True), ("ces", (1, 7), True), ("ces", (1, 7), False), ("ces", (1, 5), True),
        ("ces", (1, 5), False)]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['metric']}-{r['scale'][0]}-{r['scale'][1]}-"
                                                   f"{'up' if r['top_is_best'] else 'down'}")
def test_each_row_is_what_its_default_rule_says(row):
    (rule,) = [r for r in DEFAULT_RULES if r["name"] == row["rule"]]
    assert (rule["metric"], rule["operator"], rule["action"]) == (row["metric"], "lte", "open_case")
    scale = (rule.get("scale_min", 0), rule.get("scale_max", 10))
    assert scale == row["scale"]
    threshold = int(rule["threshold"])
    lo, hi = scale
    expected = (lo, threshold) if row["top_is_best"] else (lo + hi - threshold, hi)
    assert row["low"] == expected


def test_every_case_opening_default_rule_is_in_the_table_and_valid():
    in_table = {r["rule"] for r in ROWS}
    for rule in DEFAULT_RULES:
        assert rule_problems(dict(rule)) == {}, rule["name"]
        if rule["action"] == "open_case":
            assert rule["name"] in in_table


def test_the_migrations_seed_exactly_the_defaults():
    first = importlib.import_module("alerts.migrations.0003_seed_default_rules").DEFAULTS
    later = importlib.import_module("alerts.migrations.0005_default_rules_every_scale").NEW_RULES
    assert sorted(first + later, key=lambda r: r["name"]) == sorted(DEFAULT_RULES, key=lambda r: r["name"])


def _send(source, response_id: str, value) -> SurveyResponse:
    delivery = WebhookDelivery.objects.create(
        source=source, delivery_id=response_id, content_type="application/json",
        body=json.dumps({"response_id": response_id, "answer": value, "email": "pat@example.com"}).encode())
    assert delivery_process(delivery_pk=delivery.pk) == "processed", WebhookDelivery.objects.get(pk=delivery.pk).error
    return SurveyResponse.objects.get(source=source, external_id=response_id)


@pytest.mark.django_db
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['metric']}-{r['scale'][0]}-{r['scale'][1]}-"
                                                   f"{'up' if r['top_is_best'] else 'down'}")
def test_the_last_low_answer_opens_a_case_and_the_next_one_does_not(row, personas):
    default_rules_ensure()
    AlertRule.objects.filter(name="Promoter praise (NPS 9–10 with a comment)").update(active=False)
    metric, (lo, hi) = row["metric"], row["scale"]
    mapping = {"response_id": "response_id", metric: "answer"}
    if metric != "nps":
        mapping[f"{metric}_scale"] = f"{lo}-{hi}"
    if metric == "ces":
        mapping["ces_direction"] = "high_is_easy" if row["top_is_best"] else "low_is_easy"
    source = source_create(name="Scales", slug="scales", vendor="generic", auth={"mode": "token"}, mapping=mapping)
    low_end, high_end = row["low"]
    edge = high_end if row["top_is_best"] else low_end         # the last answer that is still low
    beyond = edge + 1 if row["top_is_best"] else edge - 1      # the first one that is not
    low = _send(source, "edge", edge)
    fine = _send(source, "beyond", beyond)
    assert [a.rule.name for a in Alert.objects.filter(response=low)] == [row["rule"]]
    assert Case.objects.filter(responses=low).count() == 1
    assert not Alert.objects.filter(response=fine).exists()
    assert not Case.objects.filter(responses=fine).exists()
