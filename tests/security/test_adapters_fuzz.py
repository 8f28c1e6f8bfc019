"""Hypothesis over the vendor adapters and the body parser, which take untrusted input: any
body, any JSON shape, any mapping gives a NormalizedResponse, an Ignored, or one of the errors
that name what a person should fix. Never anything else (which would be a 5xx or a stuck task)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings, strategies as st

from surveys.adapters import VENDORS, Ignored, MappingError, PayloadError, get_adapter, parse_body
from surveys.normalized import NormalizedResponse

KEYS = st.sampled_from([
    "data", "event_data", "form_response", "answers", "scores", "nps", "score", "comment", "response_id", "id",
    "customer", "email", "survey", "values", "answered_at", "submitted_at", "definition", "fields", "type", "field",
    "number", "text", "hidden", "person", "token", "responseId", "pages", "questions", "ref", "external_id",
])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats() | st.text(max_size=15),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS | st.text(max_size=6), children, max_size=6),
    max_leaves=30,
)
MAPPINGS = st.one_of(
    st.just({}),
    st.dictionaries(st.sampled_from(["nps", "comment", "response_id", "email", "scores", "touchpoint", "answered_at"]),
                    st.text(max_size=12) | JSON, max_size=4),
)
ALLOWED_ERRORS = (PayloadError, MappingError)


def _allowed(exc: Exception) -> bool:
    from django.core.exceptions import ValidationError

    return isinstance(exc, ALLOWED_ERRORS + (ValidationError,)) or type(exc).__name__ == "InvalidResponse"


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(vendor=st.sampled_from(VENDORS), payload=JSON, mapping=MAPPINGS)
def test_adapters_turn_any_payload_into_a_response_or_a_clear_error(vendor, payload, mapping):
    adapter = get_adapter(vendor)
    try:
        result = adapter.normalize(payload, mapping, datetime(2026, 1, 1, tzinfo=UTC), fetched=None)
    except Exception as exc:
        assert _allowed(exc), f"{vendor}: {type(exc).__name__}: {exc}"
        assert str(exc), "an error must say what is wrong"
        return
    assert isinstance(result, (NormalizedResponse, Ignored))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(body=st.binary(max_size=300), content_type=st.sampled_from([
    "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz",
    "text/plain", "application/json; charset=latin-1", "",
]))
def test_the_body_parser_accepts_or_names_the_problem(body, content_type):
    try:
        parse_body(body, content_type)
    except PayloadError as exc:
        assert str(exc)
