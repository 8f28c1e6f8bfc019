"""Adapters are pure: vendor payloads in, normalized responses out (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from surveys.adapters import Ignored, MappingError, generic, qualtrics, standard
from surveys.adapters.common import resolve

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

FORMBRICKS = {
    "webhookId": "cm1", "event": "responseFinished",
    "data": {
        "id": "resp_fb1", "createdAt": "2025-03-01T09:00:00.000Z", "updatedAt": "2025-03-01T09:01:00.000Z",
        "surveyId": "srv_1", "finished": True,
        "data": {"q_nps_x1": 6, "q_open": "The app keeps logging me out", "email": "fb@example.com"},
        "meta": {"source": "app", "country": "DE"}, "contact": {"id": "ct_1", "userId": "U-9"},
        "contactAttributes": {"email": "fb@example.com", "tier": "Gold"}, "tags": [], "language": "en",
        "survey": {"title": "Product NPS", "type": "app", "status": "inProgress"},
    },
}


def test_formbricks_payload_with_no_mapping():
    r = standard.normalize(FORMBRICKS, {}, NOW)
    assert (r.response_id, r.survey_id, r.survey_name) == ("resp_fb1", "srv_1", "Product NPS")
    assert [(s.metric, s.value) for s in r.scores] == [("nps", 6)]
    assert (r.comment, r.customer.email, r.customer.external_id, r.customer.tier) == (
        "The app keeps logging me out", "fb@example.com", "U-9", "Gold")
    assert r.answered_at == datetime(2025, 3, 1, 9, 1, tzinfo=UTC)


def test_formbricks_unfinished_response_is_a_partial_response():
    """Issue #17: a partial is judged by its score at once (the finished version completes it)."""
    partial = {**FORMBRICKS, "event": "responseCreated", "data": {**FORMBRICKS["data"], "finished": False}}
    r = standard.normalize(partial, {}, NOW)
    assert (r.response_id, r.partial, [(s.metric, s.value) for s in r.scores]) == ("resp_fb1", True, [("nps", 6)])
    no_score = {**partial, "data": {**partial["data"], "data": {"q_open": "Hello"}}}
    assert isinstance(standard.normalize(no_score, {}, NOW), Ignored)


def test_qualtrics_workflow_json():
    r = qualtrics.normalize({"responseId": "R_9", "surveyId": "SV_2", "nps": "8", "comment": "Nice staff",
                             "recipientEmail": "w@example.com", "touchpoint": "store"}, {}, NOW)
    assert (r.response_id, r.scores[0].value, r.comment, r.customer.email, r.touchpoint) == (
        "R_9", 8, "Nice staff", "w@example.com", "store")


def test_generic_form_body_with_defaults_and_a_path_mapping():
    r = generic.normalize({"submission_id": "s1", "rating": "4", "feedback": "ok"}, {}, NOW)
    assert (r.response_id, r.scores[0].metric, r.scores[0].value, r.comment) == ("s1", "csat", 4, "ok")
    nested = {"data": {"answers": [{"value": 2}, {"value": "Too slow"}]}, "id": "x"}
    r = generic.normalize(nested, {"nps": "data.answers[0].value", "comment": "data.answers[1].value",
                                   "touchpoint": "=checkout"}, NOW)
    assert (r.scores[0].value, r.comment, r.touchpoint) == (2, "Too slow", "checkout")


@pytest.mark.parametrize("payload, message", [
    ({"id": "1", "nps": "ten"}, "not a number"),
    ({"id": "1", "nps": 10.5}, "outside its 0–10 scale"),
    ({"id": "1", "nps": 7.5}, "whole number"),
    ({"id": "1", "comment": "only words"}, "No score found"),
])
def test_unusable_values_say_what_to_fix(payload, message):
    with pytest.raises(MappingError, match=message):
        generic.normalize(payload, {}, NOW)


def test_paths_enter_lists_and_json_strings():
    assert resolve({"a": [{"b": 1}]}, "a[0].b") == 1
    assert resolve({"payload": '{"answers": {"nps": 5}}'}, "payload.answers.nps") == 5
