"""The case, the responses it holds and its timeline (CaseEvent): a customer's bad (or notable)
experience turned into work with an owner and a clock."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Priority, SlaPolicy, Team
from alerts.models import Alert
from cases.ordering import next_due_expression, sort_indexes
from cases.sla import DUE_SOON
from core.partition_fk import PartitionForeignKey
from surveys.models import Customer, SurveyResponse

from cases.models.taxonomy import RootCause


class ContactChannel(models.TextChoices):
    """How staff tried to reach the customer (recorded in a CONTACT event's data)."""

    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    IN_PERSON = "in_person", _("In person")
    OTHER = "other", _("Other")


class ContactOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


def clocks_out_q(now) -> Q:
    """A clock has run out at `now`: first contact not made in time, or the resolution due passed.
    The one definition of overdue (with "not closed", overdue_q): the inbox's tab counts compile
    their SQL from it (cases.selectors.inbox_counts), the reports and filters use overdue_q."""
    return Q(resolution_due__lt=now) | Q(first_contacted_at__isnull=True, first_contact_due__lt=now)


def clocks_due_by_q(horizon) -> Q:
    """A clock runs out by `horizon` (or already has)."""
    return Q(resolution_due__lte=horizon) | Q(first_contacted_at__isnull=True, first_contact_due__lte=horizon)


def overdue_q(now) -> Q:
    """Not closed and a clock has run out."""
    return ~Q(status=Case.Status.CLOSED) & clocks_out_q(now)


def due_soon_q(now, within=None) -> Q:
    """Open, not yet overdue, and a clock runs out within `within` (default cases.sla.DUE_SOON)."""
    return ~Q(status=Case.Status.CLOSED) & ~clocks_out_q(now) & clocks_due_by_q(now + (within or DUE_SOON))


class CaseQuerySet(models.QuerySet):
    def open(self) -> CaseQuerySet:
        return self.exclude(status=Case.Status.CLOSED)

    def overdue(self, now=None) -> CaseQuerySet:
        """Not closed and a clock has run out: first contact not made in time, or resolution due passed."""
        return self.filter(overdue_q(now or timezone.now()))

    def due_soon(self, within=None, now=None) -> CaseQuerySet:
        """Open, not yet overdue, and a clock runs out within `within` (default cases.sla.DUE_SOON)."""
        return self.filter(due_soon_q(now or timezone.now(), within))

    def visible_to(self, user) -> CaseQuerySet:
        from accounts.selectors import scope_by_team

        return scope_by_team(self, user)


# What the journey map reads of a closed case (reporting.selectors.journeys), held by the closed-case
# indexes so its reads of a period's closed cases are index-only.
CLOSED_COVER = ["root_cause", "close_business_seconds", "response_touchpoint", "response_survey_id",
                "response_source_id", "segment_bits"]


class Case(models.Model):
    """One piece of frontline work: call the customer, fix what went wrong, record why."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        IN_PROGRESS = "in_progress", _("In progress")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", _("Resolved with the customer")
        NOT_RESOLVED = "not_resolved", _("Not resolved")
        UNREACHABLE = "unreachable", _("Unreachable after several attempts")

    # Unique through Meta.constraints rather than unique=True: the same unique index, without the
    # extra varchar_pattern_ops index PostgreSQL gets for unique=True that no query uses (every
    # index is one more write per case update, and the overdue sweep updates thousands at once).
    reference = models.CharField(max_length=20, editable=False)
    # customer and team lookups use the composite indexes below (customer, -created_at) and
    # (team, -closed_at); a separate single-column index would only slow every write.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases", db_index=False
    )
    # The customer's segment_bits (a bit per named segment they are in), copied by a database
    # trigger on every write (segments.membership; 0 on SQLite): reports group cases by it.
    segment_bits = models.BigIntegerField(default=0, db_default=0, editable=False)
    # The database constraints of the response foreign keys point at the response keys on
    # PostgreSQL, where responses are partitioned (core.partition_refs). Joins through it (the
    # inbox's select_related, the case page, the API) match the response's answered_at too, from
    # response_answered_at below, so PostgreSQL reads one month's partition (core.partition_fk).
    response = PartitionForeignKey(SurveyResponse, on_delete=models.PROTECT, related_name="opened_cases",
                                   db_constraint=False, time_field="response_answered_at",
                                   to_time_field="answered_at")
    responses = models.ManyToManyField(SurveyResponse, through="CaseResponse", related_name="cases")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="cases", db_index=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    version = models.PositiveIntegerField(default=1, help_text=_("Incremented on every change; stale edits get 409."))
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )  # not indexed: only a rare policy deletion looks cases up by it

    # Clocks, in absolute time (computed from business hours when set).
    first_contact_due = models.DateTimeField()
    resolution_due = models.DateTimeField()
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True, help_text=_("When the sweep recorded it overdue."))
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    due_soon_notified_at = models.DateTimeField(null=True, blank=True)

    value_at_risk = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # The customer's churn risk (0..1; 0: not scored), copied when the case opens and refreshed on
    # open cases by each scoring run (cases.services.churn): the inbox sorts by it from an index.
    customer_churn_risk = models.FloatField(default=0)

    # Closure.
    root_cause = models.ForeignKey(
        RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="cases", db_index=False
    )  # indexed below, only where set: open cases (what the sweep updates) have none
    resolution = models.TextField(blank=True, help_text=_("What was done."))
    outcome = models.CharField(max_length=14, choices=Outcome.choices, blank=True)
    prevention = models.TextField(blank=True, help_text=_("How similar cases could be prevented (frontline's voice)."))
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )  # not indexed: only a rare user deletion looks cases up by it
    reopen_count = models.PositiveIntegerField(default=0)
    # What reporting reads per case, measured once when it happens instead of at every report
    # (docs/reporting.md, "Stored per case"): open (business) seconds from creation to the first
    # contact and to the closure in the team's calendar at that moment (cleared with the times
    # they measure, on reopening), and the customer's first NPS answer after the closure.
    first_contact_business_seconds = models.FloatField(null=True, blank=True, editable=False)
    close_business_seconds = models.FloatField(null=True, blank=True, editable=False)
    answered_again = models.ForeignKey(
        SurveyResponse, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
        editable=False, db_constraint=False,
    )  # not indexed: read through the case, never looked up by the response
    answered_again_at = models.DateTimeField(null=True, blank=True, editable=False)
    answered_again_nps = models.SmallIntegerField(null=True, blank=True, editable=False)
    # The opening response's touchpoint, survey, webhook source, answer time, location and NPS score,
    # kept by database triggers (cases.response_keys) whatever writes the case or the response: the
    # journey map chooses a case's stage from them without reading the response, the KPIs by location
    # group by the location, Recovery sums the score before, and a join to the response names its
    # partition by the answer time. In memory an instance's copy may be stale (the
    # database writes it): read the response's own.
    response_touchpoint = models.CharField(max_length=120, blank=True, default="", editable=False)
    response_survey_id = models.IntegerField(null=True, blank=True, editable=False)
    response_source_id = models.IntegerField(null=True, blank=True, editable=False)
    response_answered_at = models.DateTimeField(null=True, blank=True, editable=False)
    response_location = models.CharField(max_length=120, blank=True, default="", editable=False)
    # Its NPS score (cases 0032): the "before" of Recovery's closed cases answered again.
    response_nps = models.SmallIntegerField(null=True, blank=True, editable=False)
    # Root-cause suggestion at closure: what the classifier offered (best first, with confidence)
    # and whether the person closing took one of them (None: nothing was suggested).
    root_cause_suggestions = models.JSONField(default=list, blank=True)
    suggestion_taken = models.BooleanField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)  # indexed as cases_case_created (Meta)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="cases_case_unique_reference"),
            models.CheckConstraint(
                condition=~Q(status="closed") | (Q(root_cause__isnull=False) & ~Q(outcome="") & ~Q(resolution="")),
                name="cases_case_closed_has_root_cause_outcome_resolution",
            ),
        ]
        indexes = [
            # The inbox list: a team's (or a person's) open cases in the default order, by the next
            # due time (overdue first, then due soonest). PostgreSQL walks the index and stops after
            # one page; the rare ties are sorted incrementally by priority and value at risk.
            models.Index(
                F("team"), next_due_expression(), name="cases_case_open_team_next_due",
                condition=~Q(status="closed"),
            ),
            models.Index(
                F("assignee"), next_due_expression(), name="cases_case_open_asg_next_due",
                condition=~Q(status="closed"),
            ),
            # The inbox counts and the reporting overdue dashboard: every open case of a team with
            # the columns they read, so both are index-only scans of the open cases alone.
            models.Index(
                fields=["team"], name="cases_case_open_team_cover", condition=~Q(status="closed"),
                include=["assignee", "resolution_due", "first_contact_due", "first_contacted_at",
                         "escalation_level", "value_at_risk"],
            ),
            # The overdue sweep: open cases not yet recorded overdue, by due time.
            models.Index(
                fields=["resolution_due"], name="cases_case_sweep_pending",
                condition=~Q(status="closed") & Q(overdue_at__isnull=True),
            ),
            models.Index(
                fields=["first_contact_due"], name="cases_case_sweep_first_contact",
                condition=~Q(status="closed") & Q(first_contacted_at__isnull=True) & Q(overdue_at__isnull=True),
            ),
            # "Recently closed" and reporting by closure date. Partial: every reader asks for closed
            # cases, and updates of open cases (the sweep) then maintain no entry here.
            # With what the journey map reads of each closed case (its stage from the response
            # keys, root cause, business seconds to close: migration 0024), index-only.
            models.Index(fields=["team", "-closed_at"], name="cases_case_closed_team", condition=Q(status="closed"),
                         include=CLOSED_COVER),
            # A team's cases opened in a period, with what the journey map groups them by (stage
            # from the stored response keys, open or not) and what the KPI page sums (SLA met, root
            # cause, reopens, value at risk, business-hour durations): an index-only read of the
            # period for both (docs/reporting.md; 400-670 ms -> 78 ms for the KPI page at 1M cases).
            # With the response's location (cases 0031): the KPIs by location, index-only too.
            models.Index(fields=["team", "created_at"], name="cases_case_team_created",
                         include=["status", "closed_at", "root_cause", "reopen_count", "first_contacted_at",
                                  "first_contact_due", "resolution_due", "value_at_risk",
                                  "first_contact_business_seconds", "close_business_seconds",
                                  "response_touchpoint", "response_survey_id", "response_source_id", "id",
                                  "response_location", "segment_bits"]),
            # Cases by creation time, with the status and the opening response's keys: every team's
            # cases opened in a period (an admin's journey map) in an index-only range read; the
            # plain creation index it replaces (migration 0024) served the same orders and ranges.
            # With the opening response (cases 0030): an organisation-wide action plan's cases of a
            # side matched to its themes' tags by response, index-only too. With what the KPI page
            # sums (cases 0033, as cases_case_team_created): an admin's KPIs of every team, index-only.
            # Both with the segment bits (cases 0034): the reports by segment, index-only too.
            models.Index(fields=["created_at"], name="cases_case_created",
                         include=["status", "response_touchpoint", "response_survey_id", "response_source_id",
                                  "response", "team", "closed_at", "root_cause", "reopen_count",
                                  "first_contacted_at", "first_contact_due", "resolution_due", "value_at_risk",
                                  "first_contact_business_seconds", "close_business_seconds", "response_location",
                                  "id", "segment_bits"]),
            # Every team's cases closed in a period (an admin's journey map: counts, medians, causes).
            models.Index(fields=["-closed_at"], name="cases_case_closed_at", condition=Q(status="closed"),
                         include=["team", *CLOSED_COVER]),
            models.Index(fields=["root_cause"], name="cases_case_root_cause", condition=Q(root_cause__isnull=False)),
            # The recovery-check sweep (followup): cases closed as resolved in the last few days.
            models.Index(fields=["closed_at"], name="cases_case_resolved_closed",
                         condition=Q(status="closed", outcome="resolved")),
            # A customer's cases, newest first, with what the customer and account pages count
            # (team, status, value at risk: migration 0024), index-only.
            models.Index(fields=["customer", "-created_at"], name="cases_case_customer",
                         include=["team", "status", "value_at_risk"]),
            # The Contact report's breaches: the cases that can reach a period (open: closed_at
            # NULL; or closed since its start minus the rest days), two index-only range reads
            # (migration 0029; reporting.selectors.contact).
            models.Index(fields=["closed_at"], name="cases_case_contact_reach",
                         include=["customer", "created_at", "response"]),
            # The inbox's other orders (?sort=newest, priority, value...): see cases/ordering.py.
            *sort_indexes(),
        ]

    def __str__(self) -> str:
        return self.reference

    def is_overdue_at(self, now) -> bool:
        if self.status == self.Status.CLOSED:
            return False
        return self.resolution_due < now or (self.first_contacted_at is None and self.first_contact_due < now)

    @property
    def is_overdue(self) -> bool:
        return self.is_overdue_at(timezone.now())

    @property
    def display_status(self) -> str:
        """The status a person sees: overdue is derived, never stored."""
        return "overdue" if self.is_overdue else self.status


class CaseResponse(models.Model):
    """A response attached to a case: the one that opened it and any later ones from the customer."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_responses")
    # Its database constraint points at the response keys on PostgreSQL (core.partition_refs).
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="case_links",
                                 db_constraint=False)
    attached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "response"], name="cases_caseresponse_unique_case_response"),
        ]


class CaseEvent(models.Model):
    """The timeline: every change to a case, by whom, when, from what to what."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        ASSIGNED = "assigned", _("Assigned")
        CLAIMED = "claimed", _("Claimed")
        STATUS = "status", _("Status changed")
        CONTACT = "contact", _("Contact attempt")
        NOTE = "note", _("Note")
        PRIORITY = "priority", _("Priority changed")
        TEAM = "team", _("Team changed")
        RESPONSE_ATTACHED = "response_attached", _("Response attached")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")
        DUE_SOON = "due_soon", _("Due soon")
        OVERDUE = "overdue", _("Became overdue")
        ESCALATED = "escalated", _("Escalated")
        EMAIL = "email", _("E-mail to customer")
        PLAYBOOK_STEP = "playbook_step", _("Playbook step")
        VERIFICATION_SENT = "verify_sent", _("Recovery check sent")
        VERIFICATION_ANSWER = "verify_answer", _("Recovery check answered")
        CUSTOMER_REPLIED = "customer_replied", _("Customer replied")  # by e-mail (cases/mail)
        EMAIL_BOUNCED = "email_bounced", _("E-mail bounced")
        EMAIL_AUTO_REPLY = "email_auto_reply", _("Automatic reply")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_value = models.CharField(max_length=255, blank=True)
    to_value = models.CharField(max_length=255, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(
        default=0, help_text=_("The case's version after this change (0: a sweep mark that changed no field).")
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="cases_event_case_time"),
            # Conflict messages: "what changed after the version you loaded?"
            models.Index(fields=["case", "version"], name="cases_event_case_version"),
            # Reporting and the digest: events of one kind in a period.
            models.Index(fields=["kind", "created_at"], name="cases_event_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.kind}"


