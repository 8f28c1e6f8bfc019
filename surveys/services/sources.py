"""Webhook sources: the one validation every door calls (the set-up page, the REST API, the
`add_webhook_source` command, the Django admin), creating and changing a source, and previewing
a mapping on a sample pasted before any delivery exists.

`source_problems` answers {field: [message, ...]} with the fields of a source (`name`, `slug`,
`vendor`, `secret`, `auth`, `mapping`, `rate_limit_per_second`); each message names the mapping
key or auth option it is about. An auth option the vendor's adapter does not list in its
`AUTH_OPTIONS`, or a value its `auth_problems` refuses (the generic adapter's unknown mode,
algorithm or encoding), is refused: never replaced by a default behind the admin's back.
"""

from __future__ import annotations

import base64
import secrets as pysecrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from core import outbound
from surveys.adapters import EVENT_VENDORS, VENDORS, Ignored, MappingError, PayloadError, get_adapter, parse_body
from surveys.adapters.assembly import validate_mapping
from surveys.models import FeedbackKind, Vendor, WebhookSource
from surveys.presets import PRESETS

EDITABLE = ("name", "slug", "vendor", "secret", "auth", "mapping", "active", "rate_limit_per_second",
            "secret_grace_hours", "feedback_kind")
# Vendor credentials in `auth`: never shown back in full (pages, API, admin show the last 4 characters).
SECRET_AUTH_KEYS = ("api_token", "api_key")
MASK = "••••"


def credential_masked(value) -> str:
    value = str(value or "")
    return MASK + value[-4:] if len(value) > 8 else MASK if value else ""


def auth_masked(auth: dict | None) -> dict:
    """`auth` as a person may see it: vendor credentials reduced to their last 4 characters."""
    return {k: credential_masked(v) if k in SECRET_AUTH_KEYS else v for k, v in (auth or {}).items()}


def auth_unmasked(auth, current: dict | None):
    """`auth` as submitted, with each credential that comes back exactly as it was shown masked
    replaced by the stored one (a form or client that sends back what it read keeps the token)."""
    if not isinstance(auth, dict):
        return auth
    current = current or {}
    return {k: current[k] if k in SECRET_AUTH_KEYS and k in current and v == credential_masked(current[k]) else v
            for k, v in auth.items()}


def secret_generate(vendor: str) -> str:
    if vendor == Vendor.STANDARD:
        return "whsec_" + base64.b64encode(pysecrets.token_bytes(24)).decode()
    if vendor == Vendor.HELPSCOUT:
        return pysecrets.token_urlsafe(30)  # 40 characters: Help Scout takes a secret key of 40 at most
    return pysecrets.token_urlsafe(32)


def default_feedback_kind(vendor: str) -> str:
    """What a source of this tool sends unless its admin says otherwise (surveys.presets)."""
    preset = PRESETS.get(vendor)
    return preset.feedback_kind if preset is not None else FeedbackKind.SURVEY


def auth_options(vendor: str) -> dict[str, str] | None:
    """The auth options a vendor's source may hold (option -> what it is), None when the vendor's
    adapter does not declare them (then no option is checked)."""
    try:
        adapter = get_adapter(vendor)
    except LookupError:
        return None
    options = getattr(adapter, "AUTH_OPTIONS", None)
    return dict(options) if options is not None else None


def auth_problems(vendor: str, auth: Any) -> list[str]:
    """What is wrong with a source's auth options, each sentence starting with the option."""
    if not isinstance(auth, dict):
        return [gettext("The auth options must be a JSON object of option -> value.")]
    problems = []
    options = auth_options(vendor)
    label = Vendor(vendor).label if vendor in Vendor.values else vendor
    for key, value in auth.items():
        if options is not None and key not in options:
            known = ", ".join(options) if options else gettext("none")
            problems.append(gettext("%(key)s: not an auth option of %(tool)s (its options: %(known)s).") % {
                "key": key, "tool": label, "known": known})
        elif value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
            problems.append(gettext("%(key)s: must be text or a whole number, not %(type)s.") % {
                "key": key, "type": type(value).__name__})
    if not problems and vendor in Vendor.values:
        check = getattr(get_adapter(vendor), "auth_problems", None)
        for key, messages in (check(auth) if check else {}).items():
            problems.extend(f"{key}: {message}" for message in messages)
    return problems


def source_problems(*, vendor: str, mapping: Any = None, auth: Any = None, slug: str | None = None,
                    exclude_pk: int | None = None) -> dict[str, list[str]]:
    """Why a source with these values could not work, by field (empty when it can). The one
    check every door runs before saving; the model's own checks (lengths, slug characters) run
    in `source_create` / `source_update` after it."""
    problems: dict[str, list[str]] = {}
    if vendor not in Vendor.values:
        problems["vendor"] = [gettext("Unknown vendor %(vendor)s; choose one of %(vendors)s.") % {
            "vendor": repr(vendor), "vendors": ", ".join(Vendor.values)}]
    elif vendor not in VENDORS and vendor not in EVENT_VENDORS:
        problems["vendor"] = [gettext("%(tool)s has no adapter in this version yet; connect it as generic.") % {
            "tool": Vendor(vendor).label}]
    if mapping_messages := validate_mapping(mapping if mapping is not None else {}):
        problems["mapping"] = mapping_messages
    if "vendor" not in problems and (auth_messages := auth_problems(vendor, auth if auth is not None else {})):
        problems["auth"] = auth_messages
    api_base = (auth or {}).get("api_base") if isinstance(auth, dict) else None
    if isinstance(api_base, str) and api_base and (problem := outbound.url_problem(api_base)):
        problems.setdefault("auth", []).append(f"api_base: {problem}")  # core.outbound refuses it when fetching too
    if slug and WebhookSource.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        problems["slug"] = [gettext("A source with the address /webhooks/%(slug)s/ exists already; choose another "
                                    "slug.") % {"slug": slug}]
    return problems


def mapping_canonical(mapping: dict | None) -> dict:
    """A valid mapping as stored: value maps written as text (the CLI's `label=1; label=2`) become
    JSON objects, so what is stored says exactly what each answer counts as."""
    from surveys.adapters.common import parse_value_map

    return {key: parse_value_map(value) if str(key).endswith(("_values", ".values")) else value
            for key, value in (mapping or {}).items()}


def _raise_if(problems: dict[str, list[str]]) -> None:
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def source_create(
    *, name: str, slug: str, vendor: str, secret: str = "", mapping: dict | None = None, auth: dict | None = None,
    rate_limit_per_second: int = 50, active: bool = True, feedback_kind: str = "",
) -> WebhookSource:
    """A new source (with a generated secret unless one is given). Raises ValidationError
    {field: [message]} naming what to fix. Without a `feedback_kind` the tool's own is taken:
    survey answers, or support ratings for a support tool's preset (Intercom, Help Scout)."""
    slug = slug or slugify(name)[:60]
    _raise_if(source_problems(vendor=vendor, mapping=mapping, auth=auth, slug=slug))
    source = WebhookSource(
        name=name or slug, slug=slug, vendor=vendor, secret=secret or secret_generate(vendor),
        mapping=mapping_canonical(mapping),
        auth=auth or {}, rate_limit_per_second=rate_limit_per_second, active=active,
        feedback_kind=feedback_kind or default_feedback_kind(vendor),
    )
    source.full_clean()
    source.save()
    return source


def secret_rotate(source: WebhookSource, *, grace_hours: int) -> None:
    """Before `source.secret` is replaced: the tool may still sign with the old secret until someone
    updates it there, so the old one is accepted for the grace period and refused after it."""
    source.previous_secret = source.secret
    source.previous_secret_expires_at = timezone.now() + timedelta(hours=grace_hours)


@transaction.atomic
def source_update(*, source: WebhookSource, **changes) -> WebhookSource:
    """Change a source's fields (any of EDITABLE); checked as `source_create` checks a new one.
    An empty `secret` keeps the current one."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({name: [gettext("This field cannot be changed here.")] for name in sorted(unknown)})
    if not changes.get("secret", "x"):
        changes.pop("secret")
    if "auth" in changes:
        changes["auth"] = auth_unmasked(changes["auth"], source.auth)
    merged = {name: changes.get(name, getattr(source, name)) for name in EDITABLE}
    _raise_if(source_problems(vendor=merged["vendor"], mapping=merged["mapping"], auth=merged["auth"],
                              slug=merged["slug"], exclude_pk=source.pk))
    if "mapping" in changes:
        changes["mapping"] = mapping_canonical(changes["mapping"])
    new_secret = changes.get("secret")
    if new_secret and new_secret != source.secret:
        secret_rotate(source, grace_hours=changes.get("secret_grace_hours", source.secret_grace_hours))
    for name, value in changes.items():
        setattr(source, name, value)
    source.full_clean()
    source.save()
    return source


def source_preview(*, vendor: str, mapping: dict, body: bytes, content_type: str = "application/json",
                   auth: dict | None = None, name: str = "", received_at: datetime | None = None,
                   feedback_kind: str = FeedbackKind.SURVEY) -> dict:
    """What a pasted sample delivery would become with this mapping, without storing anything:
    {"normalized": NormalizedResponse} or {"ignored": reason} or {"error": what to fix}."""
    problems = source_problems(vendor=vendor, mapping=mapping, auth=auth or {})
    if problems:
        return {"error": " ".join(m for messages in problems.values() for m in messages)}
    adapter = get_adapter(vendor)
    try:
        payload = parse_body(body, content_type)
        probe = _Probe(auth or {}, mapping)
        if adapter.fetch_request(probe, payload) is not None:
            return {"error": gettext(
                "A %(tool)s webhook carries only ids: the response is fetched from the tool's API when a delivery "
                "arrives, so paste the full response instead, or send a test delivery and preview it in the "
                "delivery console.") % {"tool": Vendor(vendor).label}}
        result = adapter.normalize(payload, mapping, received_at or timezone.now(), fetched=None,
                                   source_name=name, fallback_response_id="sample",
                                   unsolicited=FeedbackKind.unsolicited(feedback_kind))
    except (MappingError, PayloadError) as exc:
        return {"error": str(exc)}
    if isinstance(result, Ignored):
        return {"ignored": result.reason}
    return {"normalized": result}


class _Probe:
    """A source not yet saved, as an adapter reads one (auth, mapping; no secret)."""

    secret = ""
    secrets: list[str] = []

    def __init__(self, auth: dict, mapping: dict):
        self.auth, self.mapping = auth, mapping
