"""The shared preset contract for P2's presets: AUTH_OPTIONS, IDENTITY, a pure sample_delivery that
its own verify() accepts, and the two names every fetching preset takes its API settings by."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import timezone

from surveys.adapters import VENDORS, get_adapter, parse_body
from surveys.adapters.common import media_type

PRESETS = ("qualtrics", "surveymonkey", "surveysparrow", "zendesk", "delighted")
FETCHING = ("qualtrics", "surveymonkey", "surveysparrow")


def fake_source(vendor: str):
    auth = {"api_key": "client-id"} if vendor == "surveymonkey" else {}
    return SimpleNamespace(pk=7, slug="s", secret="the-secret", secrets=["the-secret"], auth=auth, mapping={})


@pytest.mark.parametrize("vendor", PRESETS)
def test_each_preset_states_its_options_and_identity(vendor):
    adapter = get_adapter(vendor)
    assert vendor in VENDORS
    assert isinstance(adapter.AUTH_OPTIONS, dict)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in adapter.AUTH_OPTIONS.items())
    assert isinstance(adapter.IDENTITY, str) and adapter.IDENTITY.endswith(".")
    assert "access_token" not in adapter.AUTH_OPTIONS


@pytest.mark.parametrize("vendor", FETCHING)
def test_fetching_presets_take_api_base_and_api_token(vendor):
    assert {"api_base", "api_token"} <= set(get_adapter(vendor).AUTH_OPTIONS)


@pytest.mark.parametrize("vendor", PRESETS)
def test_the_sample_delivery_is_accepted_by_the_presets_own_checks(vendor):
    adapter = get_adapter(vendor)
    source = fake_source(vendor)
    content_type, body, headers = adapter.sample_delivery(source)
    assert content_type in adapter.CONTENT_TYPES and adapter.accepts(media_type(content_type))
    assert all(name == name.lower() for name in headers)
    adapter.verify(source, body, headers, timezone.now())
    payload = parse_body(body, content_type)
    assert adapter.delivery_id(source, body, headers, payload)
