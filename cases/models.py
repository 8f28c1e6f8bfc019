"""Cases: a customer's bad (or notable) experience turned into work with an owner and a clock.

A case is opened from an alert, routed to a team, worked (claim, contact, notes) and closed
with a root cause. Every change goes through cases.services and leaves a CaseEvent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Priority, SlaPolicy, Team
from alerts.models import Alert
from cases.ordering import next_due_expression, sort_indexes
from cases.validation import refuse, routing_rule_problems, taxonomy_name_problems
from surveys.models import Customer, Survey, SurveyResponse


class RootCauseCategory(models.Model):
    """Top level of the root-cause taxonomy (Product, Delivery, Staff...)."""

    name = models.CharField(max_length=120, unique=True)
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "root cause categories"

    def __str__(self) -> str:
        return self.name

    def clean(self):
        refuse(taxonomy_name_problems(self.name))


class RootCause(models.Model):
    """A cause within a category. Retire (active=False) rather than delete: history keeps it."""

    category = models.ForeignKey(RootCauseCategory, on_delete=models.PROTECT, related_name="causes")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category__order", "category__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="cases_rootcause_unique_category_name"),
        ]

    def __str__(self) -> str:
        return f"{self.category.name} > {self.name}"

    def clean(self):
        refuse(taxonomy_name_problems(self.name))


class RoutingRule(models.Model):
    """Ordered conditions choosing the team for a case; the default team catches the rest.
    Empty lists mean "any"."""

    name = models.CharField(max_length=160)
    order = models.PositiveIntegerField(default=100)
    active = models.BooleanField(default=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules")
    surveys = models.ManyToManyField(Survey, blank=True, related_name="+")
    touchpoints = models.JSONField(default=list, blank=True)
    locations = models.JSONField(default=list, blank=True, help_text="Locations or regions.")
    channels = models.JSONField(default=list, blank=True)
    customer_tiers = models.JSONField(default=list, blank=True)
    metrics = models.JSONField(default=list, blank=True, help_text="nps, csat, ces or question keys.")
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Blank: the policy for the case's priority and customer tier (an alert rule's policy wins).",
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self):  # the same refusals as the settings page and the API
        refuse(routing_rule_problems({"sla_policy": self.sla_policy if self.sla_policy_id else None, **{
            f: getattr(self, f) for f in ("name", "touchpoints", "locations", "channels", "customer_tiers", "metrics")}}))


class ContactChannel(models.TextChoices):
    """How staff tried to reach the customer (recorded in a CONTACT event's data)."""

    PHONE = "phone", "Phone"
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"
    IN_PERSON = "in_person", "In person"
    OTHER = "other", "Other"


class ContactOutcome(models.TextChoices):
    REACHED = "reached", "Reached"
    VOICEMAIL = "voicemail", "Left a voicemail"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"


class CaseQuerySet(models.QuerySet):
    def open(self) -> CaseQuerySet:
        return self.exclude(status=Case.Status.CLOSED)

    def overdue(self, now=None) -> CaseQuerySet:
        """Not closed and a clock has run out: first contact not made in time, or resolution due passed."""
        now = now or timezone.now()
        return self.open().filter(
            Q(resolution_due__lt=now) | Q(first_contacted_at__isnull=True, first_contact_due__lt=now)
        )

    def due_soon(self, within=None, now=None) -> CaseQuerySet:
        """Open, not yet overdue, and a clock runs out within `within` (default 2 hours)."""
        from datetime import timedelta

        now = now or timezone.now()
        horizon = now + (within or timedelta(hours=2))
        return (
            self.open()
            .exclude(pk__in=self.overdue(now).values("pk"))
            .filter(
                Q(resolution_due__lte=horizon)
                | Q(first_contacted_at__isnull=True, first_contact_due__lte=horizon)
            )
        )

    def visible_to(self, user) -> CaseQuerySet:
        from accounts.selectors import scope_by_team

        return scope_by_team(self, user)


class Case(models.Model):
    """One piece of frontline work: call the customer, fix what went wrong, record why."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_PROGRESS = "in_progress", "In progress"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", "Resolved with the customer"
        NOT_RESOLVED = "not_resolved", "Not resolved"
        UNREACHABLE = "unreachable", "Unreachable after several attempts"

    # Unique through Meta.constraints rather than unique=True: the same unique index, without the
    # extra varchar_pattern_ops index PostgreSQL gets for unique=True that no query uses (every
    # index is one more write per case update, and the overdue sweep updates thousands at once).
    reference = models.CharField(max_length=20, editable=False)
    # customer and team lookups use the composite indexes below (customer, -created_at) and
    # (team, -closed_at); a separate single-column index would only slow every write.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases", db_index=False
    )
    response = models.ForeignKey(SurveyResponse, on_delete=models.PROTECT, related_name="opened_cases")
    responses = models.ManyToManyField(SurveyResponse, through="CaseResponse", related_name="cases")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="cases", db_index=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    version = models.PositiveIntegerField(default=1, help_text="Incremented on every change; stale edits get 409.")
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )  # not indexed: only a rare policy deletion looks cases up by it

    # Clocks, in absolute time (computed from business hours when set).
    first_contact_due = models.DateTimeField()
    resolution_due = models.DateTimeField()
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True, help_text="When the sweep recorded it overdue.")
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    due_soon_notified_at = models.DateTimeField(null=True, blank=True)

    value_at_risk = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    # Closure.
    root_cause = models.ForeignKey(
        RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="cases", db_index=False
    )  # indexed below, only where set: open cases (what the sweep updates) have none
    resolution = models.TextField(blank=True, help_text="What was done.")
    outcome = models.CharField(max_length=14, choices=Outcome.choices, blank=True)
    prevention = models.TextField(blank=True, help_text="How similar cases could be prevented (frontline's voice).")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )  # not indexed: only a rare user deletion looks cases up by it
    reopen_count = models.PositiveIntegerField(default=0)
    # Root-cause suggestion at closure: what the classifier offered (best first, with confidence)
    # and whether the person closing took one of them (None: nothing was suggested).
    root_cause_suggestions = models.JSONField(default=list, blank=True)
    suggestion_taken = models.BooleanField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
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
            models.Index(fields=["team", "-closed_at"], name="cases_case_closed_team", condition=Q(status="closed")),
            models.Index(fields=["root_cause"], name="cases_case_root_cause", condition=Q(root_cause__isnull=False)),
            # The recovery-check sweep (followup): cases closed as resolved in the last few days.
            models.Index(fields=["closed_at"], name="cases_case_resolved_closed",
                         condition=Q(status="closed", outcome="resolved")),
            models.Index(fields=["customer", "-created_at"], name="cases_case_customer"),
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
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="case_links")
    attached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "response"], name="cases_caseresponse_unique_case_response"),
        ]


class CaseEvent(models.Model):
    """The timeline: every change to a case, by whom, when, from what to what."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        ASSIGNED = "assigned", "Assigned"
        CLAIMED = "claimed", "Claimed"
        STATUS = "status", "Status changed"
        CONTACT = "contact", "Contact attempt"
        NOTE = "note", "Note"
        PRIORITY = "priority", "Priority changed"
        TEAM = "team", "Team changed"
        RESPONSE_ATTACHED = "response_attached", "Response attached"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Reopened"
        DUE_SOON = "due_soon", "Due soon"
        OVERDUE = "overdue", "Became overdue"
        ESCALATED = "escalated", "Escalated"
        EMAIL = "email", "E-mail to customer"
        PLAYBOOK_STEP = "playbook_step", "Playbook step"
        VERIFICATION_SENT = "verify_sent", "Recovery check sent"
        VERIFICATION_ANSWER = "verify_answer", "Recovery check answered"
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
        default=0, help_text="The case's version after this change (0: a sweep mark that changed no field)."
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


class NotificationKind(models.TextChoices):
    """What a notification is about; each user can switch each kind on or off."""

    NEW_CASE = "new_case", "New case in a team channel"
    ASSIGNED = "assigned", "A case was assigned to you"
    DUE_SOON = "due_soon", "A case of yours is due soon"
    OVERDUE = "overdue", "A case became overdue"
    ESCALATED = "escalated", "A case was escalated"
    DIGEST = "digest", "Daily manager digest"
    CUSTOMER_EMAIL = "customer_email", "E-mail to a customer"
    MENTIONED = "mentioned", "You were mentioned in a note"
    CUSTOMER_REPLIED = "customer_replied", "A customer replied on a case of yours"


class Notification(models.Model):
    """The outbox: one row per (case, kind, channel, address, period), so a sweep or task that runs
    twice queues nothing twice. Rows are sent by cases.tasks.notifications_dispatch_task, which
    claims pending rows with a conditional UPDATE and retries failures with backoff."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SLACK = "slack", "Slack"
        MSTEAMS = "msteams", "Microsoft Teams"
        IN_APP = "in_app", "In the app"  # the notification centre; address "user:<id>", born sent

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="notifications")
    address = models.CharField(max_length=500, help_text="E-mail address or incoming-webhook URL.")
    period = models.CharField(max_length=40, blank=True, help_text="Which occurrence this is (the overdue moment, "
                              "the case version, the digest date).")
    subject = models.CharField(max_length=255, blank=True, help_text="Pre-rendered (customer e-mails); else from the template.")
    body = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text="In-app rows: when the recipient read it.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "channel", "address", "period"],
                                    name="cases_notification_unique_case_kind_channel_address_period",
                                    condition=Q(case__isnull=False)),
            models.UniqueConstraint(fields=["kind", "channel", "address", "period"],
                                    name="cases_notification_unique_caseless_kind_channel_address_period",
                                    condition=Q(case__isnull=True)),
        ]
        indexes = [
            # The dispatcher: pending rows whose next attempt is due.
            models.Index(fields=["next_attempt_at"], name="cases_notification_pending", condition=Q(status="pending")),
            # The notification centre (cases.inapp): a user's list, and the bell's unread count.
            models.Index(fields=["recipient", "-created_at"], name="cases_notification_in_app",
                         condition=Q(channel="in_app")),
            models.Index(fields=["recipient"], name="cases_notification_unread",
                         condition=Q(channel="in_app", read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.address} ({self.status})"


class NotificationPreference(models.Model):
    """A user's switch for one kind of notification. No row means "on"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="cases_notificationpreference_unique_user_kind")]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}: {'on' if self.enabled else 'off'}"


class EmailTemplate(models.Model):
    """An admin-managed e-mail to a customer. Subject and body may use {{ customer.name }},
    {{ score }}, {{ comment }}, {{ case.reference }} and {{ agent.name }}; staff edit the filled-in
    text before sending."""

    name = models.CharField(max_length=120, unique=True)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Playbook(models.Model):
    """What to do for a root cause or a theme: a short checklist and a contact script, shown on the
    case page. Exactly one of `root_cause` and `theme` is set; admins edit them."""

    name = models.CharField(max_length=160)
    root_cause = models.ForeignKey(
        RootCause, null=True, blank=True, on_delete=models.CASCADE, related_name="playbooks"
    )
    theme = models.ForeignKey(
        "surveys.Theme", null=True, blank=True, on_delete=models.CASCADE, related_name="playbooks"
    )
    steps = models.JSONField(default=list, blank=True, help_text="The checklist, one short step per item.")
    script = models.TextField(blank=True, help_text="What to say when contacting the customer.")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(root_cause__isnull=False) & Q(theme__isnull=True))
                | (Q(root_cause__isnull=True) & Q(theme__isnull=False)),
                name="cases_playbook_root_cause_xor_theme",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RootCauseModel(models.Model):
    """A trained root-cause classifier (cases.suggest), kept in the database so every process
    uses the same one. The newest row is the one in use; retraining adds a row."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    trained_on = models.PositiveIntegerField(help_text="Closed cases it learned from.")
    classes = models.PositiveIntegerField(help_text="Distinct root causes it can suggest.")
    accuracy_top1 = models.FloatField(null=True, blank=True, help_text="On held-out closed cases.")
    accuracy_top3 = models.FloatField(null=True, blank=True)
    held_out = models.PositiveIntegerField(default=0)
    blob = models.BinaryField(
        help_text="The fitted parameters: zlib-compressed JSON (cases.suggest_store), never a pickle."
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Root-cause model of {self.created_at:%Y-%m-%d %H:%M} ({self.trained_on} cases)"


# Its own module: this one is at its size limit.
from cases.mail.models import InboundMail, OutgoingMail  # noqa: E402,F401
from cases.saved_views.models import SavedView  # noqa: E402,F401
