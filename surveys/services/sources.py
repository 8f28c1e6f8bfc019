"""Webhook sources: creating one (with a generated secret), and which of its auth headers a
delivery keeps."""

from __future__ import annotations

import base64
import secrets as pysecrets

from surveys.models import Vendor, WebhookSource


def secret_generate(vendor: str) -> str:
    if vendor == Vendor.STANDARD:
        return "whsec_" + base64.b64encode(pysecrets.token_bytes(24)).decode()
    return pysecrets.token_urlsafe(32)


def source_create(
    *, name: str, slug: str, vendor: str, secret: str = "", mapping: dict | None = None, auth: dict | None = None,
    rate_limit_per_second: int = 50,
) -> WebhookSource:
    from surveys.adapters.common import validate_mapping

    if vendor not in Vendor.values:
        raise ValueError(f"Unknown vendor {vendor!r}; choose one of {', '.join(Vendor.values)}.")
    problems = validate_mapping(mapping or {})
    if problems:
        raise ValueError(" ".join(problems))
    source = WebhookSource(
        name=name, slug=slug, vendor=vendor, secret=secret or secret_generate(vendor), mapping=mapping or {},
        auth=auth or {}, rate_limit_per_second=rate_limit_per_second,
    )
    source.full_clean()
    source.save()
    return source
