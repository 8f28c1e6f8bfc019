"""The inbox's orders, each beside the partial indexes that serve it.

An order is a list of ORDER BY terms that cases/keyset.py pages through ("the next 50 after this
row"). Every order a person can pick (`?sort=` on /cases/ and /api/v1/cases/) ends in the primary
key, so rows never tie, and starts with a key that a partial index over open cases holds after
the column the inbox scopes by (team, or assignee for "My open"). PostgreSQL then walks that index
in order and stops after one page, whatever the size of the table or of one agent's open work.

Every key of an order runs in one direction and is never NULL, so "the next page" is one
row-value comparison, `(next_due, priority_rank, value_rank, id) > (cursor)`, that PostgreSQL starts
its index scan from (cases/keyset.py). Value at risk, the one key people want highest first beside
keys they want lowest first, is therefore sorted as `value_rank`, its negation, ascending; the
indexes hold the same expression.

Score is not offered: it lives on the survey response, so sorting by it would join and sort every
case in scope instead of walking an index.

This module imports only Django, so cases/models/case.py can build its indexes from it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import Case as Case_
from django.db.models import F, IntegerField, Q, Value, When
from django.db.models.functions import Least
from django.utils.translation import gettext_lazy as _

PRIORITY_ORDER = ["urgent", "high", "normal", "low"]


def next_due_expression():
    """When the next clock runs out: first contact due while nobody has been contacted, else the
    resolution due (whichever is earlier). An open case is overdue exactly when this is in the past,
    so ordering by it ascending puts overdue cases first, most overdue first, then the soonest due.
    The inbox indexes are built on this very expression, so PostgreSQL can walk them in order."""
    return Least(
        "resolution_due",
        Case_(When(first_contacted_at__isnull=True, then=F("first_contact_due")), default=F("resolution_due")),
    )


def priority_rank_expression():
    """0 for urgent to 3 for low (4 for anything else): priority as a number that sorts."""
    return Case_(
        *[When(priority=p, then=Value(i)) for i, p in enumerate(PRIORITY_ORDER)],
        default=Value(len(PRIORITY_ORDER)), output_field=IntegerField(),
    )


def value_rank_expression():
    """Value at risk negated: ascending puts the highest value first, so an order can say "highest
    value, then due soonest" with every key ascending (one row comparison pages it)."""
    return -F("value_at_risk")


def churn_rank_expression():
    """The customer's churn risk negated (a copy on the case, kept by the churn model's scoring
    run, docs/churn-risk.md): ascending puts the most at-risk customers first; 0 (not scored) last."""
    return -F("customer_churn_risk")


@dataclass(frozen=True)
class Sort:
    key: str  # the ?sort= value
    label: str  # what the filter form's select shows
    order_by: tuple[str, ...]  # over the annotations next_due, priority_rank, value_rank, churn_rank and Case's fields


DEFAULT_SORT = "due"
SORTS = {
    sort.key: sort
    for sort in (
        # The default order: overdue first (most overdue first), then the clock that runs out
        # soonest; priority and value at risk only break ties.
        Sort("due", _("Due soonest (overdue first)"),
             ("next_due", "priority_rank", "value_rank", "id")),
        Sort("due_desc", _("Due latest first"), ("-next_due", "-id")),
        Sort("newest", _("Newest first"), ("-created_at", "-id")),
        Sort("oldest", _("Oldest first"), ("created_at", "id")),
        Sort("priority", _("Priority (urgent first), then due soonest"), ("priority_rank", "next_due", "id")),
        Sort("value", _("Value at risk (highest first)"), ("value_rank", "next_due", "id")),
        Sort("churn", _("Customer's churn risk (highest first)"), ("churn_rank", "next_due", "id")),
    )
}
SORT_CHOICES = [(sort.key, sort.label) for sort in SORTS.values()]


OPEN_CREATED_COVER = ["id", "response", "segment_bits"]


def sort_indexes() -> list[models.Index]:
    """The partial indexes (open cases only: closed cases are 80 % of a mature table and no
    sortable view but "Recently closed", itself bounded to a closure window, lists them) that keep
    each non-default order flat: one per scope column and sort key. The default order ("due") is
    served by cases_case_open_team_next_due and cases_case_open_asg_next_due.

    None of these columns changes while a case is worked (created_at, value_at_risk; priority
    only through the priority action), so the sweep's and the actions' updates stay HOT-eligible
    for them; the cost is one index entry each per case opened.

    A team's open cases by creation time also hold each case's id, opening response and segment
    bits (cases 0035, OPEN_CREATED_COVER): the Themes page's open cases per theme read the
    period's open cases of the viewer's teams from this index alone (every team's 42,000 of 90
    days at 1,000,000 cases: 150 -> 10 ms where it read each case's row). None of them changes
    while a case is worked either (the bits only when the customer's segments do)."""
    keys = {
        # newest / oldest
        "created": (F("created_at"),),
        # priority, then due soonest
        "prio": (priority_rank_expression(), next_due_expression()),
        # value at risk (highest first: its negation ascending), then due soonest, so that the many
        # cases of equal value (0, unknown) come in due order from the index too
        "value": (value_rank_expression(), next_due_expression()),
        # the customer's churn risk (highest first), then due soonest
        "churn": (churn_rank_expression(), next_due_expression()),
    }
    return [
        models.Index(F(column), *expressions, name=f"cases_case_open_{short}_{key}", condition=~Q(status="closed"),
                     include=OPEN_CREATED_COVER if (short, key) == ("team", "created") else None)
        for column, short in (("team", "team"), ("assignee", "asg"))
        for key, expressions in keys.items()
    ]
