"""The reads of the partitioned tables that bench.bench_partitions EXPLAIN ANALYZEs before and after
the conversions: (label, queryset), with and without a bound on the partitions' time column."""

from __future__ import annotations

import datetime


def queries():
    """(label, queryset) of the reads of the partitioned tables, with and without a time bound."""
    from django.db.models import Avg, Count, Min, Q
    from django.db.models.functions import TruncWeek

    from accounts.models import User
    from cases import inapp
    from cases.models import Case, CaseEvent, Notification
    from cases.selectors import inbox_queryset
    from reporting.filters import ReportFilterForm
    from reporting.selectors.common import closure_events
    from surveys.models import SurveyResponse, WebhookDelivery, WebhookSource

    manager = User.objects.get(username="bench_manager")
    form = ReportFilterForm({}, user=manager, default_days=30)
    form.is_valid()
    case = Case.objects.order_by("-created_at").first()
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    now = datetime.datetime.now(datetime.UTC)
    source = WebhookSource.objects.order_by("pk").first()
    delivery = WebhookDelivery.objects.filter(received_at__lt=now - datetime.timedelta(days=200)).only(
        "pk", "received_at").order_by("-received_at").first()
    agent = User.objects.filter(notifications__channel=Notification.Channel.IN_APP).order_by("pk").first()
    pending = [WebhookDelivery.Status.PENDING, WebhookDelivery.Status.PROCESSING]
    responses = form.filters().responses().order_by()
    answer = SurveyResponse.objects.filter(pk=case.response_id).values("id", "answered_at").get()
    customer_id = SurveyResponse.objects.exclude(customer=None).order_by("-answered_at").values_list(
        "customer_id", flat=True).first()
    return [
        ("Reports: scores by location, last 30 days, manager's 5 teams (filters.responses(), answered_at bound)",
         responses.values("location").annotate(n=Count("*"), nps=Avg("nps"))),
        ("Reports: scores by week, last 30 days, manager's 5 teams (the trend read from the responses)",
         responses.annotate(period=TruncWeek("answered_at")).values("period").annotate(n=Count("*"))),
        ("Reports: responses of the last 30 days, every team (journeys, discovery: answered_at bound)",
         SurveyResponse.objects.filter(answered_at__gte=since).order_by().values("touchpoint")
         .annotate(n=Count("*"))),
        ("Responses: a case's opening response by id (the case page, no time bound)",
         SurveyResponse.objects.filter(pk=answer["id"]).values("id", "nps")),
        ("Responses: the same by id and answered_at",
         SurveyResponse.objects.filter(pk=answer["id"], answered_at=answer["answered_at"]).values("id", "nps")),
        ("Responses: a customer's answers, newest 20 (the customer page, no time bound)",
         SurveyResponse.objects.filter(customer_id=customer_id).order_by("-answered_at").values("id", "nps")[:20]),
        ("Inbox: the team view's first page of 50, manager's 5 teams (cases.selectors.inbox_queryset: each "
         "case joined to its opening response by id, no time bound)",
         inbox_queryset(manager, "team", now)[:50]),
        ("Reports: closures of the last 30 days, manager's 5 teams (reporting.selectors.common.closure_events)",
         closure_events(form.filters()).values("case__root_cause_id")),
        ("Deliveries: the console's page, a source's newest 50 (surveys.views, no time bound)",
         source.deliveries.defer("body", "fetched").order_by("-received_at").values("id")[:50]),
        ("Deliveries: re-drive, pending ones older than 5 minutes (surveys.services.deliveries_redrive)",
         WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING,
                                        received_at__lt=now - datetime.timedelta(minutes=5))
         .filter(Q(not_before__isnull=True) | Q(not_before__lte=now)).order_by("received_at").values("id")[:500]),
        ("Deliveries: the oldest unfinished one (surveys.selectors.oldest_pending_delivery_age)",
         WebhookDelivery.objects.filter(status__in=pending).values("status").annotate(oldest=Min("received_at"))),
        ("Deliveries: bodies to forget, processed before 90 days ago (deliveries_forget_bodies)",
         WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PROCESSED,
                                        received_at__lt=now - datetime.timedelta(days=90))
         .exclude(body=b"").values("id")[:5000]),
        ("Deliveries: one by id (the worker's updates, no time bound)",
         WebhookDelivery.objects.filter(pk=delivery.pk).values("id")),
        ("Deliveries: one by id and received_at",
         WebhookDelivery.objects.filter(pk=delivery.pk, received_at=delivery.received_at).values("id")),
        ("Notifications: the dispatcher's due pending rows (cases.notifications, no time bound)",
         Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
         .order_by("next_attempt_at").values("id")[:200]),
        ("Notifications: a user's notification centre, newest 20 (cases.inapp.for_user)",
         inapp.for_user(agent).values("id")[:20]),
        ("Notifications: a user's unread count (cases.inapp.unread_count)",
         Notification.objects.filter(recipient=agent, channel=Notification.Channel.IN_APP,
                                     read_at__isnull=True).values("id")),
        ("Notifications: the digest's last 24 hours (created_at bound)",
         Notification.objects.filter(created_at__gte=now - datetime.timedelta(days=1)).values("kind")),
        ("Digest and metrics: escalations of the last 30 days (kind + created_at)",
         CaseEvent.objects.filter(kind=CaseEvent.Kind.ESCALATED, created_at__gte=since).values("id")),
        ("Case page: one case's timeline (no time bound)", case.events.order_by("-created_at", "-id").values("id")),
        ("Case page: the same timeline bounded by the case's creation",
         case.events.filter(created_at__gte=case.created_at).order_by("-created_at", "-id").values("id")),
    ]
