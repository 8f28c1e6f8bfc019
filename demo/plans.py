"""Demo action plans (improvement): one against late deliveries whose change went live three
weeks ago (so its page has an "after" side to read), and one overdue on the dashboard."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cases.models import Case, RootCause
from improvement.services import PlanInput, plan_cases_link, plan_create, plan_note_add
from surveys.models import Theme


def seed(context: dict) -> dict:
    manager = context["manager"]
    today = timezone.localdate()
    late = RootCause.objects.filter(category__name="Delivery", name="Late").first()
    damaged = RootCause.objects.filter(category__name="Delivery", name="Damaged").first()
    late_theme = Theme.objects.filter(name="Late delivery").first()
    carrier = plan_create(by=manager, data=PlanInput(
        title="Carrier hand-over checks at the hubs",
        description="Every parcel scanned at hand-over; late carriers escalated the same day.",
        owner_id=manager.pk, status="in_progress", due_date=today + dt.timedelta(days=14),
        change_date=today - dt.timedelta(days=21),
        root_cause_ids=tuple(c.pk for c in (late,) if c), theme_ids=tuple(t.pk for t in (late_theme,) if t),
        touchpoints=("delivery",)))
    plan_note_add(plan_id=carrier.pk, by=manager, text="Hubs in London and Madrid live; New York next week.")
    references = list(Case.objects.filter(root_cause=late, team__in=manager.teams.all()).order_by("-created_at").values_list("reference", flat=True)[:3])
    if references:
        plan_cases_link(plan_id=carrier.pk, by=manager, references=references)
    first_team = manager.teams.order_by("name").first()
    plan_create(by=manager, data=PlanInput(
        title="Stronger boxes for fragile items", owner_id=manager.pk, team_id=first_team.pk if first_team else None,
        due_date=today - dt.timedelta(days=4), root_cause_ids=tuple(c.pk for c in (damaged,) if c),
        touchpoints=("delivery",)))
    return {}
