"""Set-up in the product, for CX admins (everyone else gets a 404: accounts.permissions): pick
the survey tool, get the webhook URL, the secret and the steps for the tool's own screens, send
a test delivery through the webhook door and watch it arrive (the deliveries list polls itself
with HTMX), and preview a mapping on a sample pasted before any delivery exists.

Views only translate HTTP: checks and writes are surveys.services.sources, the test delivery
surveys.connect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from accounts.permissions import admin_required
from surveys.adapters import get_adapter
from surveys.connect import TestDeliveryUnavailable, source_test_delivery
from surveys.models import Vendor, WebhookSource
from surveys.presets import PRESETS, preset_for
from surveys.services.sources import (
    auth_masked,
    auth_options,
    credential_masked,
    source_create,
    source_preview,
    source_update,
)
from surveys.setup_forms import PreviewForm, SourceForm
from surveys.views import webhook_url

RECENT = 10


def _add_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@admin_required
def setup_home(request):
    """Every tool to connect, and the sources already connected."""
    sources = WebhookSource.objects.order_by("name")
    return render(request, "surveys/setup_home.html", {
        "presets": list(PRESETS.values()), "sources": [{"source": s, "url": webhook_url(s)} for s in sources],
    })


@admin_required
def setup_new(request, vendor: str):
    """A new source for one tool: name (and the tool's secret, or the API token, when it needs them)."""
    if vendor not in Vendor.values:
        return redirect("surveys:setup")
    preset = preset_for(vendor)
    form = SourceForm(request.POST or None, initial={"vendor": vendor, "active": True,
                                                     "feedback_kind": preset.feedback_kind})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            source = source_create(name=data["name"], slug=data["slug"], vendor=data["vendor"], secret=data["secret"],
                                   auth=data["auth"], mapping=data["mapping"], active=data["active"],
                                   feedback_kind=data["feedback_kind"] or preset.feedback_kind)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("%(source)s is ready: follow the steps below in %(label)s.") % {"source": source.name, "label": preset.label})
            return redirect("surveys:setup_source", slug=source.slug)
    return render(request, "surveys/setup_new.html", {
        "preset": preset, "form": form, "options": auth_options(vendor), "preview_form": _preview_form(vendor, {}),
        # Before the source exists its address and secret are named where they go.
        "steps": preset.steps_for(url="{url}", secret="{secret}"),
    })


@admin_required
def setup_source(request, slug: str):
    """One source: its URL, secret and steps, its settings, the test delivery and what arrived."""
    source = get_object_or_404(WebhookSource, slug=slug)
    preset = preset_for(source.vendor)
    initial = {"vendor": source.vendor, "name": source.name, "slug": source.slug, "active": source.active,
               "feedback_kind": source.feedback_kind,
               "secret_grace_hours": source.secret_grace_hours,
               "mapping": source.mapping, "api_base": source.auth.get("api_base", ""),
               "api_token": credential_masked(source.auth.get("api_token", "")),
               "auth": {k: v for k, v in auth_masked(source.auth).items() if k not in ("api_base", "api_token")}}
    form = SourceForm(request.POST or None, initial=initial, instance=source)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grace = {} if data.get("secret_grace_hours") is None else {"secret_grace_hours": data["secret_grace_hours"]}
            source_update(source=source, name=data["name"], secret=data["secret"], auth=data["auth"],
                          mapping=data["mapping"], active=data["active"],
                          feedback_kind=data["feedback_kind"] or source.feedback_kind, **grace)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("surveys:setup_source", slug=source.slug)
    url = webhook_url(source)
    return render(request, "surveys/setup_source.html", {
        "source": source, "preset": preset, "url": url, "steps": preset.steps_for(url=url, secret=source.secret),
        "form": form, "options": auth_options(source.vendor), "deliveries": _recent(source),
        "identity": getattr(get_adapter(source.vendor), "IDENTITY", ""),
        "preview_form": _preview_form(source.vendor, source.mapping),
    })


@admin_required
@require_POST
def setup_test_delivery(request, slug: str):
    """Send the adapter's sample delivery through the webhook door; the answer is shown at once
    and the delivery appears in the list below (which keeps polling)."""
    source = get_object_or_404(WebhookSource, slug=slug)
    try:
        result = source_test_delivery(source=source)
    except TestDeliveryUnavailable as exc:
        outcome = {"ok": False, "message": str(exc)}
    else:
        if result.accepted:
            outcome = {"ok": True, "message": f"Test delivery accepted ({result.status}); watch it arrive below."}
        else:
            reason = (result.answer or {}).get("error", "")
            outcome = {"ok": False, "message": f"The webhook answered {result.status}: {reason}"}
    if request.headers.get("HX-Request"):
        return render(request, "surveys/_setup_deliveries.html", {
            "source": source, "deliveries": _recent(source), "outcome": outcome})
    (messages.success if outcome["ok"] else messages.error)(request, outcome["message"])
    return redirect("surveys:setup_source", slug=source.slug)


@admin_required
def setup_deliveries(request, slug: str):
    """The source's recent deliveries with their status (the fragment the page polls)."""
    source = get_object_or_404(WebhookSource, slug=slug)
    return render(request, "surveys/_setup_deliveries.html", {"source": source, "deliveries": _recent(source)})


@admin_required
@require_POST
def setup_preview(request):
    """What a pasted sample would become with a mapping; nothing is stored."""
    form = PreviewForm(request.POST)
    preview = None
    if form.is_valid():
        data = form.cleaned_data
        preview = source_preview(vendor=data["vendor"], mapping=data["mapping"], body=data["sample"].encode(),
                                 content_type=data["content_type"] or "application/json",
                                 feedback_kind=data.get("feedback_kind") or "survey")
    return render(request, "surveys/_setup_preview.html", {"preview": preview, "preview_form": form})


def _preview_form(vendor: str, mapping: dict) -> PreviewForm:
    # Its own ids: the source form on the same page has a mapping field too.
    return PreviewForm(initial={"vendor": vendor, "mapping": mapping, "content_type": "application/json"},
                       auto_id="id_preview_%s")


def _recent(source: WebhookSource) -> list:
    return list(source.deliveries.defer("body", "fetched").select_related("response")
                .prefetch_related("response__alerts__rule").order_by("-received_at")[:RECENT])
