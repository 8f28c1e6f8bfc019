"""Reads of cases, always scoped by accounts.selectors (what this user may see).

    case_list_for_user(user) -> QuerySet
    case_get_for_user(user, pk_or_reference) -> Case        # Http404 when not visible
    inbox_queryset(user, view) -> QuerySet                  # views: INBOX_VIEWS
    with_sort(queryset, sort) -> QuerySet                   # sorts: cases.ordering.SORTS
    inbox_counts(user) -> dict[view, int]                   # two index-only queries
    case_events(case) -> list[CaseEvent]                     # newest first, with their actors' names (compiled once)
    case_timeline(case) -> list[CaseEvent]
    customer_history(user, customer_id) -> list[HistoryItem] # every response and case, newest first
    case_theme_links(case) -> list[ResponseTheme]                    # themes of all its responses
    playbooks_for_case(case, root_cause_id=None) -> list[Playbook]   # its root cause's and its themes'
    playbook_checklists(playbooks, events) -> list[Checklist]        # with each step's ticked state
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Count, Q, QuerySet, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Role, User
from accounts.selectors import scope_by_team, visible_team_ids
from core.compiled import compiled_values
from core.lean import lean_instances, select_related_names
from cases.models import Case, CaseEvent, CaseResponse, Playbook
from cases.models.case import clocks_due_by_q, clocks_out_q, due_soon_q, overdue_q  # noqa: F401 (the rule, re-exported)
from cases.ordering import (
    SORTS,
    churn_rank_expression,
    next_due_expression,
    priority_rank_expression,
    value_rank_expression,
)
from cases.sla import DUE_SOON
from core.ids import parse_id

INBOX_VIEWS = ["mine", "unassigned", "team", "overdue", "due_soon", "recently_closed"]
RECENTLY_CLOSED = dt.timedelta(days=7)


def seen_teams(user) -> dict:
    """Whom a statement compiled once per process (core.compiled) is for, as its arguments: {} for
    someone who sees every team, else {"teams": their team ids, sorted} (empty for someone in none)."""
    ids = visible_team_ids(user)
    return {} if ids is None else {"teams": tuple(sorted(ids))}


def seen_teams_key(args: dict) -> tuple:
    """The part of a compiled statement's key that seen_teams' arguments decide: every team, or how many."""
    return ("teams" not in args, len(args.get("teams", ())))


def stand_in(args: dict, pk: int = 0) -> User:
    """The person a compiled statement is built for (core.compiled builds it with sentinel values):
    an admin when `args` names no teams, else an agent who sees exactly `args["teams"]`."""
    sees_all = "teams" not in args
    person = User(pk=pk, role=Role.ADMIN if sees_all else Role.AGENT, is_active=True)
    if not sees_all:
        person._visible_team_ids = set(args["teams"])
    return person


def overdue_since():
    """When an overdue case became overdue: the first of its clocks that ran out."""
    from django.db.models import Case as Case_
    from django.db.models import F

    return Case_(
        When(Q(first_contacted_at__isnull=True, first_contact_due__lt=F("resolution_due")),
             then=F("first_contact_due")),
        default=F("resolution_due"),
    )


def case_list_for_user(user) -> QuerySet:
    return scope_by_team(Case.objects.all(), user).select_related(
        "team", "assignee", "customer", "response", "alert__rule", "root_cause__category"
    )


def case_get_for_user(user, pk_or_reference) -> Case:
    key = str(pk_or_reference).strip()
    queryset = case_list_for_user(user)
    if key.upper().startswith("CL-"):
        lookup = {"reference": key.upper()}
    elif (pk := parse_id(key)) is not None:
        lookup = {"pk": pk}
    else:
        raise Http404("No such case.")
    try:
        return queryset.get(**lookup)
    except Case.DoesNotExist:
        raise Http404("No such case.") from None


def with_inbox_order(queryset: QuerySet, now: dt.datetime | None = None) -> QuerySet:
    """Overdue first, then the clock that runs out soonest, then priority, then value at risk.

    An open case is overdue exactly when its next due time (`next_due`) has passed, so ordering by
    next_due ascending already puts every overdue case first (most overdue first) and then the
    soonest due: one index-friendly key instead of an "is overdue" rank PostgreSQL would have to
    compute for every open case and sort. The partial indexes on (team, next_due) and
    (assignee, next_due) serve this order; priority and value at risk only break ties. `now` is
    accepted for symmetry with the other selectors; the order itself does not depend on it."""
    return _with_sort_keys(queryset).order_by(*SORTS["due"].order_by)


def _with_sort_keys(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(next_due=next_due_expression(), priority_rank=priority_rank_expression(),
                             value_rank=value_rank_expression(), churn_rank=churn_rank_expression())


def with_sort(queryset: QuerySet, sort: str) -> QuerySet:
    """`queryset` in one of the orders a person can pick (cases.ordering.SORTS; KeyError for any
    other: the FilterSet refuses unknown sorts before this is called)."""
    return _with_sort_keys(queryset).order_by(*SORTS[sort].order_by)


def inbox_queryset(user, view: str, now: dt.datetime | None = None, *, closed_window: bool = True) -> QuerySet:
    """The cases of one inbox view in its default order. "Recently closed" means the last 7 days
    unless `closed_window` is off (the caller filters by an explicit closure date range, as the
    reports' drill-down links do)."""
    if view not in INBOX_VIEWS:
        raise Http404(f"No inbox view {view!r}.")
    now = now or timezone.now()
    queryset = case_list_for_user(user)
    if view == "recently_closed":
        closed = queryset.filter(status=Case.Status.CLOSED)
        if closed_window:
            closed = closed.filter(closed_at__gte=now - RECENTLY_CLOSED)
        return closed.order_by("-closed_at", "-id")
    queryset = with_inbox_order(queryset.exclude(status=Case.Status.CLOSED), now)
    if view == "mine":
        queryset = queryset.filter(assignee=user)
    elif view == "unassigned":
        queryset = queryset.filter(assignee__isnull=True)
    elif view == "overdue":
        # The same cases as overdue_q (an open case is overdue iff its next due time has passed),
        # written as a range on the indexed expression so the index scan starts and stops there.
        queryset = queryset.filter(next_due__lt=now)
    elif view == "due_soon":
        queryset = queryset.filter(next_due__gte=now, next_due__lte=now + DUE_SOON)
    return queryset


# The two statements of inbox_counts, written out: the ORM compiled them on every inbox page
# (about 8 % of the page's Python, bench/page_cpu.py); the text only varies with how many teams
# the person sees. Same statements as the ORM wrote for Count(..., filter=...) over the open cases
# and .count() over the recently closed, so the same plans (the covering partial index
# cases_case_open_team_cover; the (team, -closed_at) index); tests/inbox/test_inbox_counts.py
# holds them equal to the views' own lists. The overdue and due-soon conditions are not written
# here: they are compiled once per process from the rule itself (cases.models.case.clocks_out_q,
# clocks_due_by_q, which overdue_q and due_soon_q are made of), only the clocks' columns (all in
# the covering index; "not closed" is the statement's own WHERE).
_OPEN_COUNTS_SQL = (
    "SELECT COUNT(team_id) FILTER (WHERE assignee_id IS NULL), COUNT(team_id), "
    "COUNT(team_id) FILTER (WHERE {overdue}), "
    "COUNT(team_id) FILTER (WHERE NOT {overdue} AND {soon}), "
    "COUNT(team_id) FILTER (WHERE assignee_id = %s) "
    f"FROM {Case._meta.db_table} WHERE {{scope}}NOT (status = %s)"
)
_CLOSED_COUNT_SQL = f"SELECT COUNT(*) FROM {Case._meta.db_table} WHERE {{scope}}closed_at >= %s AND status = %s"
_CLOCK_SENTINEL = dt.datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=dt.timezone.utc)
_clock_sql: dict[str, tuple[str, int, str, int]] = {}  # per database vendor


def _clock_condition(connection, q: Q) -> tuple[str, int]:
    """`q` (conditions on the case's own columns at one moment) as SQL with a %s per use of the
    moment, and how many: compiled with a sentinel moment that must be every parameter."""
    from django.db.models.sql import Query

    query = Query(Case, alias_cols=False)
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.compile(query.build_where(q))
    at = connection.ops.adapt_datetimefield_value(_CLOCK_SENTINEL)
    if not params or any(param != at for param in params):
        raise ValueError(f"{q!r} compiled to parameters other than its moment: {params!r}")
    return sql, len(params)


def clock_sql(connection) -> tuple[str, int, str, int]:
    """(overdue SQL, its parameter count, clock-runs-out-by SQL, its count), once per vendor."""
    try:
        return _clock_sql[connection.vendor]
    except KeyError:
        compiled = (*_clock_condition(connection, clocks_out_q(_CLOCK_SENTINEL)),
                    *_clock_condition(connection, clocks_due_by_q(_CLOCK_SENTINEL)))
        _clock_sql[connection.vendor] = compiled
        return compiled


def inbox_counts(user, now: dt.datetime | None = None) -> dict[str, int]:
    """How many cases each inbox view holds.

    Two queries, each reading an index only: the five open views counted with FILTER over the
    open cases of the user's teams (the covering partial index cases_case_open_team_cover, so
    closed cases, 80 % of a mature table, are never read), and "Recently closed" as a range scan
    of the (team, -closed_at) index bounded by the last 7 days. Counting team_id (a key column,
    never NULL) rather than * lets each count carry a FILTER. Without a team to see, no query."""
    now = now or timezone.now()
    user_id = user.pk if user is not None and user.is_authenticated else None
    ids = visible_team_ids(user)
    if ids is not None and not ids:
        return dict.fromkeys(INBOX_VIEWS, 0)
    scope, scope_params = "", []
    if ids is not None:
        scope_params = sorted(ids)
        scope = f"team_id IN ({', '.join(['%s'] * len(scope_params))}) AND "
    connection = connections[router.db_for_read(Case) or "default"]  # the replica inside replica_reads()
    at = connection.ops.adapt_datetimefield_value
    overdue_sql, n_overdue, soon_sql, n_soon = clock_sql(connection)
    overdue = [at(now)] * n_overdue
    soon = [at(now + DUE_SOON)] * n_soon
    closed = Case.Status.CLOSED.value
    statement = _OPEN_COUNTS_SQL.format(overdue=overdue_sql, soon=soon_sql, scope=scope)
    with connection.cursor() as cursor:
        # No user: assignee_id = NULL matches no row, so "mine" counts 0 as before.
        cursor.execute(statement, [*overdue, *overdue, *soon, user_id, *scope_params, closed])
        unassigned, team, n_overdue, due_soon, mine = cursor.fetchone()
        cursor.execute(_CLOSED_COUNT_SQL.format(scope=scope), [*scope_params, at(now - RECENTLY_CLOSED), closed])
        (recently_closed,) = cursor.fetchone()
    counts = {"mine": mine, "unassigned": unassigned, "team": team, "overdue": n_overdue, "due_soon": due_soon,
              "recently_closed": recently_closed}
    return {view: counts[view] for view in INBOX_VIEWS}


# What the case page reads of each event and its actor (the timeline's sentences, the playbooks'
# ticks): every column of the event, the actor's name.
_EVENT_FIELDS = (*(field.attname for field in CaseEvent._meta.concrete_fields),
                 "actor__first_name", "actor__last_name", "actor__username")


def case_events(case: Case) -> list[CaseEvent]:
    """The case's events, newest first, each with its actor (the name only: other fields of the
    actor load when read). Read as values and built by core.lean: the ORM's instances of two
    tables per event cost more than the timeline that prints them."""
    using = router.db_for_read(CaseEvent)
    rows = compiled_values(("cases.case_events",), _events_query, {"case": case.pk}, using=using)
    return lean_instances(CaseEvent, rows, _EVENT_FIELDS, using=using)


def _events_query(args: dict) -> QuerySet:
    """case_events' statement (compiled once per process, core.compiled)."""
    return CaseEvent.objects.filter(case_id=args["case"]).order_by("-created_at", "-id").values(*_EVENT_FIELDS)


def case_timeline(case: Case) -> list[CaseEvent]:
    return list(case.events.select_related("actor").order_by("created_at", "id"))


def case_responses(case: Case):
    return [link.response for link in case.case_responses.select_related("response").order_by("attached_at", "id")]


@dataclass(frozen=True)
class HistoryItem:
    kind: str  # "response" or "case"
    at: dt.datetime
    obj: object


def customer_history(user, customer_id: int) -> list[HistoryItem]:
    """Every response and case of a customer the user may see, newest first (Http404 if none)."""
    from surveys.models import Customer, SurveyResponse

    try:
        customer = Customer.objects.get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404("No such customer.") from None
    cases = list(case_list_for_user(user).filter(customer=customer))
    responses = SurveyResponse.objects.filter(customer=customer).select_related("survey")
    ids = visible_team_ids(user)
    if ids is not None:
        responses = responses.filter(Q(team_id__in=ids) | Q(case_links__case__in=[c.pk for c in cases])).distinct()
    responses = list(responses)
    if not cases and not responses:
        raise Http404("No such customer.")
    items = [HistoryItem("case", c.created_at, c) for c in cases]
    items += [HistoryItem("response", r.answered_at, r) for r in responses]
    items.sort(key=lambda item: item.at, reverse=True)
    return items


def digest_for_teams(team_ids, now: dt.datetime | None = None) -> dict:
    """What a manager's daily digest says about their teams: overdue per team, due in the next
    24 h, and the top root causes of cases closed in the last 7 days."""
    from accounts.models import Team

    now = now or timezone.now()
    cases = Case.objects.filter(team_id__in=team_ids)
    per_team = (
        cases.values("team_id")
        .annotate(overdue=Count("id", filter=overdue_q(now)),
                  due_24h=Count("id", filter=~Q(status=Case.Status.CLOSED) & ~overdue_q(now)
                                & Q(resolution_due__lte=now + dt.timedelta(hours=24))),
                  open=Count("id", filter=~Q(status=Case.Status.CLOSED)))
    )
    names = dict(Team.objects.filter(pk__in=team_ids).values_list("id", "name"))
    teams = sorted(
        ({"team": names.get(row["team_id"], "?"), "overdue": row["overdue"], "due_24h": row["due_24h"],
          "open": row["open"]} for row in per_team),
        key=lambda row: (-row["overdue"], row["team"]),
    )
    causes = (
        cases.filter(status=Case.Status.CLOSED, closed_at__gte=now - dt.timedelta(days=7), root_cause__isnull=False)
        .values("root_cause__category__name", "root_cause__name")
        .annotate(n=Count("id")).order_by("-n", "root_cause__category__name", "root_cause__name")[:5]
    )
    return {
        "teams": teams,
        "overdue_total": sum(row["overdue"] for row in teams),
        "due_24h_total": sum(row["due_24h"] for row in teams),
        "root_causes": [{"name": f"{c['root_cause__category__name']} > {c['root_cause__name']}", "count": c["n"]}
                        for c in causes],
    }


# --- playbooks --------------------------------------------------------------------------------


def case_theme_links(case: Case) -> list:
    """The themes found in the case's responses (the opening one and any attached later), with the
    matched words and the theme: one query."""
    from surveys.models import ResponseTheme

    if case.response_id is None:
        return list(_theme_links_queryset({"case": case.pk, "response": None}))
    # The statement compiled once per process (core.compiled), the links built by core.lean.
    using = router.db_for_read(ResponseTheme)
    names = _theme_link_names()
    rows = compiled_values(("cases.case_theme_links",),
                           lambda args: _theme_links_queryset(args).values(*names),
                           {"case": case.pk, "response": case.response_id}, using=using)
    return lean_instances(ResponseTheme, rows, names, using=using)


def _theme_links_queryset(args: dict) -> QuerySet:
    from surveys.models import ResponseTheme

    attached = CaseResponse.objects.filter(case_id=args["case"]).values("response_id")
    links = ResponseTheme.objects.filter(Q(response_id=args["response"]) | Q(response_id__in=attached))
    return links.select_related("theme").order_by("theme__name", "response_id")


@functools.cache
def _theme_link_names() -> tuple[str, ...]:
    from surveys.models import ResponseTheme

    return select_related_names(ResponseTheme, ("theme",))


def playbooks_for_case(case: Case, *, root_cause_id: int | None = None, theme_links=None) -> list[Playbook]:
    """The active playbooks for this case: the one for its root cause (the recorded one, or
    `root_cause_id` while the person is choosing one in the close form), then one per active
    theme found in any of the case's responses, by name. One query; none when the caller passes
    the case's theme links (case_theme_links) and neither a theme nor a cause can match."""
    from surveys.models import ResponseTheme, Theme

    cause_id = root_cause_id or case.root_cause_id
    if theme_links is None:
        attached = CaseResponse.objects.filter(case_id=case.pk).values("response_id")
        theme_ids = ResponseTheme.objects.filter(
            Q(response_id=case.response_id) | Q(response_id__in=attached), theme__status=Theme.Status.ACTIVE,
        ).values("theme_id")
    else:
        theme_ids = sorted({link.theme_id for link in theme_links if link.theme.status == Theme.Status.ACTIVE})
        if not theme_ids and not cause_id:
            return []
    condition = Q(theme_id__in=theme_ids)
    if cause_id:
        condition |= Q(root_cause_id=cause_id)
    playbooks = Playbook.objects.filter(condition, active=True).select_related("root_cause__category", "theme")
    return sorted(playbooks, key=lambda p: (p.root_cause_id is None, p.name.lower(), p.pk))


@dataclass(frozen=True)
class ChecklistStep:
    index: int  # 0-based, as case_playbook_step takes it
    text: str
    done: bool
    by: str = ""  # who ticked it (the latest tick)


@dataclass(frozen=True)
class Checklist:
    playbook: Playbook
    steps: list[ChecklistStep]

    @property
    def for_label(self) -> str:
        if self.playbook.root_cause_id:
            cause = self.playbook.root_cause
            return gettext("Root cause: %(category)s › %(cause)s") % {"category": cause.category.name, "cause": cause.name}
        return gettext("Theme: %(theme)s") % {"theme": self.playbook.theme.name}

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)


def playbook_progress(events) -> dict[tuple[int, int], CaseEvent]:
    """The latest PLAYBOOK_STEP event per (playbook id, step), from the case's events (any order)."""
    latest: dict[tuple[int, int], CaseEvent] = {}
    for event in events:
        if event.kind != CaseEvent.Kind.PLAYBOOK_STEP:
            continue
        try:
            key = (int(event.data["playbook_id"]), int(event.data["step"]))
        except (KeyError, TypeError, ValueError):
            continue
        seen = latest.get(key)
        if seen is None or (event.created_at, event.pk) > (seen.created_at, seen.pk):
            latest[key] = event
    return latest


def playbook_checklists(playbooks, events) -> list[Checklist]:
    """Each playbook's steps with their ticked state, derived from the timeline (the latest tick or
    untick of each step wins), so the checklist and the timeline can never disagree."""
    progress = playbook_progress(events)
    checklists = []
    for playbook in playbooks:
        steps = []
        for index, text in enumerate(playbook.steps or []):
            event = progress.get((playbook.pk, index))
            done = bool(event and event.data.get("done", True))
            who = event.actor.display_name if done and event.actor_id and event.actor else ""
            steps.append(ChecklistStep(index, str(text), done, who))
        checklists.append(Checklist(playbook, steps))
    return checklists
