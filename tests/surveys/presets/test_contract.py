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
