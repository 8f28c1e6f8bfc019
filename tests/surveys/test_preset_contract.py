"""What the set-up needs from every vendor adapter (the #17 shared contract): AUTH_OPTIONS (any
other auth key is refused when a source is saved), IDENTITY, and a sample_delivery the
test-delivery button posts through the webhook door."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from surveys.adapters import VENDORS, get_adapter, parse_body
from surveys.adapters.common import SignatureError, media_type
from surveys.connect import source_test_delivery
from surveys.models import FeedbackKind, SurveyResponse, Vendor, WebhookDelivery, WebhookSource
from surveys.presets import PRESETS
from surveys.services import secret_generate, source_create

MISSING = "every adapter declares the #17 contract"


def _adapter(vendor: str, *names: str):
    adapter = get_adapter(vendor)
    missing = [name for name in names if not hasattr(adapter, name)]
    assert not missing, f"{vendor}: {MISSING} ({', '.join(missing)})"
    return adapter


NAMES = ("CONTENT_TYPES", "AUTH_OPTIONS", "IDENTITY", "accepts", "verify", "delivery_id", "fetch_request", "normalize",
         "sample_delivery")


def _credentials(adapter) -> dict:
    """The credentials a signing or fetching preset needs (SurveyMonkey keys its signature with api_key)."""
    return {key: f"test-{key}" for key in ("api_key", "api_token") if key in adapter.AUTH_OPTIONS}


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_adapter_has_the_contracts_names(vendor):
    adapter = get_adapter(vendor)
    assert [name for name in NAMES if not hasattr(adapter, name)] == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_sample_delivery_is_authentic_for_its_source_only(vendor):
    """Pure: no database, no network. Another secret (a source that is not this one) is refused."""
    adapter = get_adapter(vendor)

    def source(secret):
        return SimpleNamespace(pk=7, slug="s", name="S", vendor=vendor, secret=secret, previous_secret="",
                               secrets=[secret], auth=_credentials(adapter), mapping={})

    mine = source(secret_generate(vendor))
    content_type, body, headers = adapter.sample_delivery(mine)
    assert content_type in adapter.CONTENT_TYPES or media_type(content_type) in adapter.CONTENT_TYPES
    assert adapter.accepts(media_type(content_type))
    assert all(name == name.lower() for name in headers)
    adapter.verify(mine, body, headers, timezone.now())
    with pytest.raises(SignatureError):
        adapter.verify(source(secret_generate(vendor)), body, headers, timezone.now())
    assert adapter.delivery_id(mine, body, headers, parse_body(body, content_type))


def test_every_vendor_has_set_up_text_with_its_url_and_a_guide():
    assert sorted(PRESETS) == sorted(Vendor.values)
    for vendor, preset in PRESETS.items():
        assert preset.docs == f"docs/connect/{vendor}.md"
        assert any("%(url)s" in step for step in preset.steps), vendor
        assert preset.secret_from in ("closeloop", "tool")
        assert (preset.secret_from == "tool") == bool(preset.secret_hint), vendor
        assert preset.feedback_kind in FeedbackKind.values, vendor


@pytest.mark.parametrize("vendor", VENDORS)
def test_auth_options_and_identity_are_declared(vendor):
    adapter = _adapter(vendor, "AUTH_OPTIONS", "IDENTITY")
    assert isinstance(adapter.AUTH_OPTIONS, dict) and all(isinstance(v, str) and v for v in adapter.AUTH_OPTIONS.values())
    assert str(adapter.IDENTITY).endswith(".")
    assert "access_token" not in adapter.AUTH_OPTIONS  # the one name for a vendor credential is api_token
    if "api_token" in adapter.AUTH_OPTIONS or PRESETS[vendor].needs_auth:
        assert {"api_base", "api_token"} <= set(adapter.AUTH_OPTIONS), "fetching presets use exactly these names"


@pytest.mark.django_db
@pytest.mark.parametrize("vendor", VENDORS)
def test_an_auth_option_the_vendor_does_not_list_is_refused(vendor):
    adapter = _adapter(vendor, "AUTH_OPTIONS")
    label = Vendor(vendor).label
    with pytest.raises(ValidationError) as caught:
        source_create(name="X", slug="x", vendor=vendor, auth={"api_key_typo": "k"})
    known = ", ".join(adapter.AUTH_OPTIONS) or "none"
    assert caught.value.message_dict == {"auth": [f"api_key_typo: not an auth option of {label} (its options: {known})."]}
    assert not WebhookSource.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("vendor", VENDORS)
def test_the_sample_delivery_passes_the_webhook_door(vendor, django_capture_on_commit_callbacks):
    adapter = _adapter(vendor, "AUTH_OPTIONS", "sample_delivery")
    auth = _credentials(adapter)
    source = source_create(name="Sample", slug="sample", vendor=vendor, secret=secret_generate(vendor), auth=auth)
    content_type, body, _headers = adapter.sample_delivery(source)
    thin = adapter.fetch_request(source, parse_body(body, content_type)) is not None
    # A thin webhook's response would be fetched from the vendor's API: not from here (P2's stub does).
    with django_capture_on_commit_callbacks(execute=not thin):
        result = source_test_delivery(source=source)
    assert (result.status, result.answer["status"]) == (202, "accepted"), result.answer
    delivery = WebhookDelivery.objects.get(pk=result.delivery_pk)
    if not thin:
        assert delivery.status == "processed", delivery.error
        assert SurveyResponse.objects.filter(pk=delivery.response_id).exists()
