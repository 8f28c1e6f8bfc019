"""The delivery console: for CX admins only (everyone else gets a 404, as if it did not exist)."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from accounts.permissions import admin_required
from surveys.adapters import Ignored, MappingError, PayloadError
from surveys.adapters.assembly import validate_mapping
from surveys import stats
from surveys.models import RefusedDelivery, WebhookDelivery, WebhookSource
from surveys.services import deliveries_replay_failed, delivery_fetch_request, delivery_normalize, delivery_replay

PAGE = 50


def webhook_url(source: WebhookSource) -> str:
    return f"{settings.SITE_URL}{reverse('webhook', args=[source.slug])}"


@admin_required
def console(request):
    """Every source with its address and the last 24 hours' delivery counts."""
    since = timezone.now() - timedelta(hours=24)
    sources = WebhookSource.objects.annotate(
        received=Count("deliveries", filter=Q(deliveries__received_at__gte=since)),
        failed=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
        waiting=Count("deliveries", filter=Q(deliveries__status__in=["pending", "processing"])),
    ).order_by("name")
    refused = refused_totals()
    rows = [{"source": s, "url": webhook_url(s), "refused": sum(refused.get(s.slug, {}).values())} for s in sources]
    return render(request, "surveys/console.html", {
        "rows": rows, "unknown": RefusedDelivery.objects.filter(source__isnull=True)[:PAGE],
        "unknown_count": sum(refused.get(stats.UNKNOWN_SOURCE, {}).values()),
    })


def refused_totals() -> dict[str, dict[str, int]]:
    """Refusals counted so far (surveys.stats, in Redis), by source slug then reason."""
    totals: dict[str, dict[str, int]] = {}
    for (slug, reason), count in stats.rejection_counts().items():
        totals.setdefault(slug, {})[reason] = count
    return totals


@admin_required
def source_deliveries(request, slug):
    """A source's recent deliveries, newest first, optionally one status only."""
    source = get_object_or_404(WebhookSource, slug=slug)
    status = request.GET.get("status", "")
    deliveries = source.deliveries.defer("body", "fetched").order_by("-received_at")
    if status in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    return render(request, "surveys/source_deliveries.html", {
        "source": source, "url": webhook_url(source), "deliveries": deliveries[:PAGE], "status": status,
        "statuses": WebhookDelivery.Status.choices,
        "failed_count": source.deliveries.filter(status=WebhookDelivery.Status.FAILED).count(),
        "refusals": RefusedDelivery.objects.filter(slug=source.slug)[:PAGE],
        "keep": RefusedDelivery.KEEP_PER_SOURCE,
        "refused": sorted((RefusedDelivery.Reason(reason).label if reason in RefusedDelivery.Reason.values else reason, n)
                          for reason, n in refused_totals().get(source.slug, {}).items()),
    })


def _pretty(body: bytes, content_type: str) -> str:
    text = bytes(body).decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _preview(delivery: WebhookDelivery, mapping: dict) -> dict:
    try:
        fetched = delivery.fetched
        if fetched is None and delivery_fetch_request(delivery) is not None:
            return {"error": "This thin webhook's response has not been fetched from the vendor yet; replay it first."}
        result = delivery_normalize(delivery, mapping=mapping, fetched=fetched)
    except (MappingError, PayloadError) as exc:
        return {"error": str(exc)}
    if isinstance(result, Ignored):
        return {"ignored": result.reason}
    return {"normalized": result}


@admin_required
def delivery_detail(request, slug, pk):
    """One delivery: headers, the raw body (escaped), its error, and a mapping preview."""
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("source", "response"), pk=pk, source__slug=slug)
    source = delivery.source
    mapping_text = json.dumps(source.mapping, indent=2)
    preview = None
    if request.method == "POST":
        mapping_text = request.POST.get("mapping", "{}")
        try:
            mapping = json.loads(mapping_text or "{}")
            problems = validate_mapping(mapping)
        except ValueError as exc:
            mapping, problems = None, [f"Not JSON: {exc}"]
        if problems:
            preview = {"error": " ".join(problems)}
        elif request.POST.get("action") == "save":
            source.mapping = mapping
            source.save(update_fields=["mapping"])
            messages.success(request, _("Mapping saved. Replay failed deliveries to apply it."))
            return redirect("surveys:delivery", slug=slug, pk=pk)
        else:
            preview = _preview(delivery, mapping)
    return render(request, "surveys/delivery_detail.html", {
        "delivery": delivery, "source": source, "body": _pretty(delivery.body, delivery.content_type),
        "headers": json.dumps(delivery.headers, indent=2, ensure_ascii=False), "mapping_text": mapping_text,
        "preview": preview, "fetched": json.dumps(delivery.fetched, indent=2, ensure_ascii=False) if delivery.fetched else "",
    })


@admin_required
@require_POST
def delivery_replay_view(request, slug, pk):
    delivery = get_object_or_404(WebhookDelivery, pk=pk, source__slug=slug)
    if delivery_replay(delivery=delivery):
        messages.success(request, _("Delivery %(delivery_id)s queued again.") % {"delivery_id": delivery.delivery_id})
    else:
        messages.error(request, _("Only failed or processed deliveries can be replayed."))
    return redirect("surveys:delivery", slug=slug, pk=pk)


@admin_required
@require_POST
def source_replay_failed(request, slug):
    source = get_object_or_404(WebhookSource, slug=slug)
    count = deliveries_replay_failed(source=source)
    messages.success(request, _("%(count)s failed deliveries queued again.") % {"count": count})
    return redirect("surveys:source", slug=slug)
