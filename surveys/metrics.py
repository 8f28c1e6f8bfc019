"""The webhook figures at /metrics (registered with core.metrics in SurveysConfig.ready)."""

from __future__ import annotations

import logging

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from surveys.models import WebhookDelivery
from surveys.selectors import oldest_pending_delivery_age
from surveys.stats import rejection_counts

logger = logging.getLogger(__name__)


class DeliveriesCollector:
    """Deliveries stored and refused, and the age of the oldest one not yet processed."""

    def collect(self):
        received = CounterMetricFamily(
            "closeloop_webhook_deliveries_received", "Deliveries stored, by source.", labels=["source"]
        )
        by_status = GaugeMetricFamily(
            "closeloop_webhook_deliveries", "Stored deliveries by source and status.", labels=["source", "status"]
        )
        totals: dict[str, int] = {}
        rows = WebhookDelivery.objects.values_list("source__slug", "status").annotate(n=Count("id")).order_by()
        for slug, status, n in rows:
            totals[slug] = totals.get(slug, 0) + n
            by_status.add_metric([slug, status], n)
        for slug, n in totals.items():
            received.add_metric([slug], n)
        yield received
        yield by_status

        rejected = CounterMetricFamily(
            "closeloop_webhook_deliveries_rejected",
            "Webhook attempts refused without storing (bad signature, unknown source, rate limit...).",
            labels=["source", "reason"],
        )
        try:
            for (slug, reason), n in rejection_counts().items():
                rejected.add_metric([slug, reason], n)
        except Exception:  # Redis down or not built yet: the other figures still matter
            logger.warning("rejection counts unavailable", exc_info=True)
        yield rejected

        age = GaugeMetricFamily(
            "closeloop_webhook_oldest_pending_age_seconds",
            "Age of the oldest delivery not yet processed (0 when none). /readyz fails above its threshold.",
        )
        age.add_metric([], oldest_pending_delivery_age())
        yield age
