"""What the full-payload presets' sample deliveries say, and that no signed payload of theirs, however
mangled, becomes an internal error. The contract every adapter shares (its names, options,
identity, an authentic sample) is tests/surveys/test_preset_contract.py."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from surveys.adapters import get_adapter, parse_body
from surveys.normalized import NormalizedResponse

P1 = ("typeform", "formbricks", "standard", "tally", "jotform", "google_forms")


def _source(secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"):
    return SimpleNamespace(secret=secret, previous_secret="", secrets=[secret], auth={}, mapping={})


@pytest.mark.parametrize("vendor", P1)
def test_each_sample_delivery_is_a_low_score_from_a_known_customer(vendor):
    adapter, source = get_adapter(vendor), _source()
    content_type, body, _headers = adapter.sample_delivery(source)
    payload = parse_body(body, content_type)
    result = adapter.normalize(payload, {}, datetime.now(UTC))
    assert isinstance(result, NormalizedResponse) and not result.partial
    assert [(s.metric, int(s.value)) for s in result.scores] == [("nps", 3)]
    assert result.customer.external_id == {"formbricks": "U-1001"}.get(vendor, "C-1001")


JUNK = [None, 1, -5, 1e308, -1e308, "x", "", [], {}, [1, "a"], {"a": None}, True, "99999999999999999999", "3", 3.5,
        "1e308", "\x00", [{}], [None]]


def _mutate(value, rng):
    """The sample with keys dropped and values swapped for other JSON types (seeded, repeatable)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            roll = rng.random()
            if roll >= 0.15:
                out[key] = rng.choice(JUNK) if roll < 0.35 else _mutate(item, rng)
        return out
    if isinstance(value, list):
        return [_mutate(item, rng) for item in value if rng.random() > 0.1]
    return value


@pytest.mark.parametrize("vendor", P1)
def test_a_signed_delivery_of_any_shape_is_read_or_refused_with_a_reason(vendor):
    """What a sender controls never becomes an internal error: every mangled variant of the sample
    is a response, Ignored, or a MappingError / PayloadError whose message a person can act on."""
    import json
    import random

    from surveys.adapters.common import MappingError, PayloadError

    adapter, rng = get_adapter(vendor), random.Random(17)
    content_type, body, _headers = adapter.sample_delivery(_source())
    sample = parse_body(body, content_type)
    if vendor == "jotform":
        sample["rawRequest"] = json.loads(sample["rawRequest"])
    for _ in range(400):
        payload = _mutate(sample, rng)
        if vendor == "jotform" and isinstance(payload.get("rawRequest"), dict) and rng.random() < 0.5:
            payload["rawRequest"] = json.dumps(payload["rawRequest"])
        try:
            adapter.normalize(payload, {}, datetime.now(UTC))
        except (MappingError, PayloadError) as exc:
            assert str(exc)
