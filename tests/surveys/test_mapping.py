"""Generic mapping a person gets right first time: answers picked by question id, ref or title
(not only by position), value maps from answer text to numbers, and a mapping checked with
messages that name the key they are about (surveys.adapters.picking, .common.validate_mapping)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from surveys.adapters import MappingError, generic
from surveys.adapters.assembly import validate_mapping
from surveys.adapters.picking import MISSING, PathSyntaxError, apply_value_map, parse_value_map, path_tokens, resolve

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
# A form builder's submission: answers in an array, each with its question's id, ref and title.
SUBMISSION = {
    "submission": {"id": "S-1"},
    "answers": [
        {"id": "q1", "field": {"ref": "nps_ref"}, "title": "How likely are you to recommend us?", "value": 4},
        {"id": "q7", "field": {"ref": "effort"}, "title": "How easy was it? (1-5)", "value": "Very difficult"},
        {"id": "q9", "field": {"ref": "why"}, "title": "Why [briefly]?", "value": "Waited a week"},
    ],
}


@pytest.mark.parametrize("path, expected", [
    ("answers[0].value", 4),
    ("answers[id=q7].value", "Very difficult"),
    ("answers[field.ref=nps_ref].value", 4),
    ("answers[title=How likely are you to recommend us?].value", 4),
    ('answers[title="Why [briefly]?"].value', "Waited a week"),
    ("answers[ID = Q7].value", "Very difficult"),  # keys and values compare without regard to case or spaces
    ("answers[id=q404].value", MISSING),
    ("answers[id=q1].missing", MISSING),
    ("submission.id", "S-1"),
])
def test_paths_pick_answers_by_position_id_ref_or_title(path, expected):
    assert resolve(SUBMISSION, path) == expected if expected is not MISSING else resolve(SUBMISSION, path) is MISSING


def test_a_selector_also_searches_an_object_of_questions():
    payload = {"questions": {"a": {"name": "ces", "answer": 2}, "b": {"name": "nps", "answer": 9}}}
    assert resolve(payload, "questions[name=nps].answer") == 9


@pytest.mark.parametrize("path, message", [
    ("answers[id=q1", "'[' at character 8 is never closed."),
    ("answers[=q1].value", "[=q1] names no key before '=' (e.g. [id=q1])."),
    ("answers[].value", "[] is empty: put a position ([0]) or a selector ([id=q1]) inside."),
    ("answers]", "']' at character 8 closes nothing."),
])
def test_an_unreadable_path_says_where(path, message):
    with pytest.raises(PathSyntaxError) as caught:
        path_tokens(path)
    assert str(caught.value) == message


def test_value_maps_are_written_as_json_or_as_text():
    assert parse_value_map({"Very difficult": 1, "Easy": "4"}) == {"Very difficult": 1, "Easy": 4}
    assert parse_value_map("Very difficult=1; Difficult=2\nNeutral=3") == {"Very difficult": 1, "Difficult": 2,
                                                                          "Neutral": 3}
    assert parse_value_map("Good, I'm satisfied=1; Bad, I'm unsatisfied=0") == {"Good, I'm satisfied": 1,
                                                                               "Bad, I'm unsatisfied": 0}
    assert apply_value_map("  very DIFFICULT ", {"Very difficult": 1}) == 1
    assert apply_value_map("5", {"Very difficult": 1}) == "5"  # a number passes through


def test_a_text_answer_through_a_value_map_becomes_a_ces_score_on_its_scale():
    mapping = {"response_id": "submission.id", "ces": "answers[id=q7].value", "ces_scale": "1-5",
               "ces_values": {"Very difficult": 1, "Difficult": 2, "Neutral": 3, "Easy": 4, "Very easy": 5},
               "comment": "answers[field.ref=why].value"}
    result = generic.normalize(SUBMISSION, mapping, NOW)
    (score,) = result.scores
    assert (score.metric, score.value, score.scale_min, score.scale_max, score.higher_is_better) == (
        "ces", Decimal("1"), 1, 5, True)
    assert (result.response_id, result.comment) == ("S-1", "Waited a week")


def test_an_answer_the_value_map_does_not_name_fails_with_what_to_do():
    mapping = {"response_id": "submission.id", "ces": "answers[id=q7].value", "ces_scale": "1-5",
               "ces_values": {"Easy": 4}}
    with pytest.raises(MappingError) as caught:
        generic.normalize(SUBMISSION, mapping, NOW)
    assert str(caught.value) == ("CES answer 'Very difficult' is not in ces_values (Easy): add it to the value map, "
                                 "or map a numeric question.")


def test_a_custom_question_takes_a_value_map_too():
    payload = {"id": "x1", "q": {"delivery": "Late"}}
    mapping = {"score.delivery": "q.delivery", "score.delivery.scale": "1-3",
               "score.delivery.values": "Late=1; On time=3"}
    (score,) = generic.normalize(payload, mapping, NOW).scores
    assert (score.metric, score.key, score.value) == ("custom", "delivery", Decimal("1"))


@pytest.mark.parametrize("mapping, problems", [
    ({"nsp": "a.b"}, ["nsp: Unknown mapping key 'nsp': use one of response_id, survey_id, survey_name, comment, "
                      "touchpoint, channel, location, region, external_id, email, name, phone, tier, segment, "
                      "account_value, answered_at, nps, csat, csat_scale, ces, ces_scale, ces_direction, nps_values, "
                      "csat_values, ces_values, score.<key>[.scale|.direction|.values] or attr.<name>."]),
    ({"nps": ""}, ["nps: Must be a non-empty path or =literal."]),
    ({"ces": "answers[id=q7"}, ["ces: Path 'answers[id=q7': '[' at character 8 is never closed."]),
    ({"csat_scale": "5-1"}, ["csat_scale: Scale '5-1': the lowest value must be below the highest."]),
    ({"ces_direction": "upside_down"}, ["ces_direction: 'upside_down' is not a direction: write high_is_easy or "
                                        "low_is_easy."]),
    ({"ces_values": "Very difficult=one"}, ["ces_values: The value map 'Very difficult' maps to 'one', not a "
                                            "number."]),
    ({"ces_values": "Very difficult"}, ["ces_values: The value map entry 'Very difficult' is not label=number "
                                        "(e.g. Very difficult=1)."]),
    ({"score.delivery.scale": "1-3"}, ["score.delivery.scale: score.delivery is not mapped: map the question first "
                                       "(score.delivery=<path>)."]),
    ({"score.delivery": "q.d", "score.delivery.colour": "red"}, [
        "score.delivery.colour: Unknown mapping key 'score.delivery.colour': use one of response_id, survey_id, "
        "survey_name, comment, touchpoint, channel, location, region, external_id, email, name, phone, tier, "
        "segment, account_value, answered_at, nps, csat, csat_scale, ces, ces_scale, ces_direction, nps_values, "
        "csat_values, ces_values, score.<key>[.scale|.direction|.values] or attr.<name>."]),
    ([], ["The mapping must be a JSON object of field -> path."]),
    ({"ces": "answers[title=\"How easy?\"].value", "ces_values": {"Easy": 4}, "attr.plan": "=gold"}, []),
])
def test_validate_mapping_names_the_key_of_each_problem(mapping, problems):
    assert validate_mapping(mapping) == problems
