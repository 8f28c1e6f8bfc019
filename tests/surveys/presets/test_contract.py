"""The shared contract of issue #17 for P1's presets: every adapter module exposes the same names,
and its sample delivery (the set-up page's "send a test delivery") is authentic for the source it
is made for and a low score, without any network or database."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from surveys.adapters import VENDORS, get_adapter, parse_body
from surveys.adapters.common import SignatureError
from surveys.normalized import NormalizedResponse

P1 = ("typeform", "formbricks", "standard", "tally", "jotform", "google_forms")
NAMES = ("CONTENT_TYPES", "AUTH_OPTIONS", "IDENTITY", "accepts", "verify", "delivery_id", "fetch_request", "normalize",
         "sample_delivery")


def _source(secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"):
    return SimpleNamespace(secret=secret, previous_secret="", secrets=[secret], auth={}, mapping={})


@pytest.mark.parametrize("vendor", P1)
def test_each_preset_exposes_the_contracts_names(vendor):
    adapter = get_adapter(vendor)
    assert vendor in VENDORS
    assert [n for n in NAMES if not hasattr(adapter, n)] == []
    assert isinstance(adapter.AUTH_OPTIONS, dict) and isinstance(adapter.IDENTITY, str) and adapter.IDENTITY


@pytest.mark.parametrize("vendor", P1)
def test_each_sample_delivery_verifies_for_its_source_only_and_is_a_low_score(vendor):
    adapter, source = get_adapter(vendor), _source()
    content_type, body, headers = adapter.sample_delivery(source)
    headers = {k.lower(): v for k, v in headers.items()}
    assert adapter.accepts(content_type.split(";")[0])
    adapter.verify(source, body, headers, datetime.now(UTC))
    with pytest.raises(SignatureError):
        adapter.verify(_source("whsec_" + "QUFB" * 8), body, headers, datetime.now(UTC))
    payload = parse_body(body, content_type)
    assert adapter.delivery_id(source, body, headers, payload)
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
