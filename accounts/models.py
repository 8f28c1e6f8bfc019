"""People, the teams they work in, and the organisation's service commitments.

This is the lowest layer of the flow. Alert rules (alerts/) name the team and SLA policy a case
should get, and alerts sits below cases, so teams, their business calendars and SLA policies
live here where both can reach them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models, router
from django.utils.translation import gettext_lazy as _

from accounts.validation import default_team_problems, sla_problems, team_problems, timezone_problem
from core.compiled import compiled_values


class Role(models.TextChoices):
    AGENT = "agent", _("Frontline agent")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("CX admin")


class Priority(models.TextChoices):
    """Case priority, shared by alert rules (what to open) and cases (what was opened)."""

    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")

    @classmethod
    def rank(cls, value: str) -> int:
        return [c.value for c in cls].index(value)


class User(AbstractUser):
    """A person who signs in. `role` decides which pages they reach; team memberships decide
    which cases, responses and figures they see (visible_team_ids, below)."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    is_away = models.BooleanField(
        default=False, help_text=_("Away members are skipped by automatic assignment.")
    )
    phone = models.CharField(max_length=40, blank=True)
    # The person's own language and time zone (their profile page, docs/languages.md). Blank: the
    # browser's Accept-Language, and the zone of their first team (accounts.middleware).
    language = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES)
    timezone = models.CharField(max_length=64, blank=True)
    # SCIM's externalId: the provisioning client's (Okta's, Entra's) own id for this person (accounts.scim).
    scim_external_id = models.CharField(max_length=254, blank=True, db_index=True)

    objects = UserManager()

    class Meta:
        ordering = ["username"]

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def is_manager_role(self) -> bool:
        return self.role in (Role.MANAGER, Role.ADMIN) or self.is_superuser

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


def validate_timezone(value: str) -> None:
    if message := timezone_problem(value):
        raise ValidationError(message)


DEFAULT_OPENING_HOURS = {
    "mon": [["09:00", "17:00"]],
    "tue": [["09:00", "17:00"]],
    "wed": [["09:00", "17:00"]],
    "thu": [["09:00", "17:00"]],
    "fri": [["09:00", "17:00"]],
    "sat": [],
    "sun": [],
}


def default_opening_hours() -> dict:
    return {day: [list(span) for span in spans] for day, spans in DEFAULT_OPENING_HOURS.items()}


class TeamQuerySet(models.QuerySet):
    def visible_to(self, user) -> TeamQuerySet:
        return self.among(visible_team_ids(user))

    def among(self, ids) -> TeamQuerySet:
        """The teams with these ids; None: every team (what visible_team_ids gives an admin)."""
        return self if ids is None else self.filter(id__in=ids)


class Team(models.Model):
    """A frontline inbox: its members work the cases routed to it, within its business calendar."""

    class Assignment(models.TextChoices):
        MANUAL = "manual", _("Manual (unassigned queue)")
        ROUND_ROBIN = "round_robin", _("Round-robin")
        FEWEST_OPEN = "fewest_open", _("Fewest open cases")

    class Escalation(models.TextChoices):
        LADDER = "ladder", _("Notify, then escalate and raise priority")
        NOTIFY_ONLY = "notify_only", _("Notify only")

    class ClosedReply(models.TextChoices):
        REOPEN = "reopen", _("Reopen the case")
        FOLLOW_UP = "follow_up", _("Open a linked follow-up case")

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    members = models.ManyToManyField(User, through="Membership", related_name="teams")
    is_default = models.BooleanField(
        default=False, help_text=_("Catches every case no routing rule claims. Exactly one team should be.")
    )
    assignment = models.CharField(max_length=16, choices=Assignment.choices, default=Assignment.MANUAL)
    last_assigned = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("Round-robin position."),
    )
    # Business calendar: SLA clocks only run inside these hours, in this time zone.
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    opening_hours = models.JSONField(
        default=default_opening_hours,
        help_text='Per weekday, a list of ["HH:MM", "HH:MM"] spans in local time.',
    )
    holiday_country = models.CharField(
        max_length=8, blank=True, help_text=_("ISO country code for public holidays (the holidays package).")
    )
    holiday_subdivision = models.CharField(max_length=16, blank=True, help_text=_("Region, e.g. a state code."))
    # Escalation ladder.
    escalation = models.CharField(max_length=16, choices=Escalation.choices, default=Escalation.LADDER)
    escalation_delay_minutes = models.PositiveIntegerField(
        default=240, help_text=_("How long after becoming overdue a case escalates to level 2.")
    )
    escalation_email = models.EmailField(blank=True, help_text=_("Escalation contact for level 2."))
    # First contact: whether an attempt that did not reach the customer (no answer, voicemail,
    # wrong number) already meets the first-contact target. Off: only reaching them does.
    unanswered_attempt_stops_first_contact = models.BooleanField(
        default=False,
        help_text=_("An unanswered contact attempt (no answer, voicemail, wrong number) stops the first-contact "
                  "clock. Off: the clock runs until the customer is reached (or e-mailed)."),
    )
    # What customers read when their own language is unknown or not one the product speaks
    # (customer e-mails, the "Did we put it right?" page; cases.customer_language).
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en", blank=True)
    # E-mail with customers (cases/mail, docs/email.md): the team's sender address, and what a
    # customer's e-mail reply to a closed case does.
    mail_from = models.EmailField(
        blank=True, help_text=_("Customer e-mails come from this address (blank: the site's DEFAULT_FROM_EMAIL)."))
    mail_reply_to_closed = models.CharField(
        max_length=10, choices=ClosedReply.choices, default=ClosedReply.REOPEN,
        help_text=_("What a customer's e-mail reply to a closed case does."))
    slack_webhook_url = models.URLField(blank=True)
    msteams_webhook_url = models.URLField(blank=True)
    # SCIM's externalId for a team provisioned as a SCIM group (accounts.scim).
    scim_external_id = models.CharField(max_length=254, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # Exactly one team catches what no routing rule claims (accounts.teams.team_save moves
            # the flag; migration 0003 kept the oldest of several).
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="accounts_team_one_default",
                violation_error_message=_("Another team is already the default: make this team the default "
                                        "from its settings page, which moves the flag."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        """The rules of accounts.validation, so every ModelForm (the Django admin's too) refuses
        what the settings pages and the API refuse."""
        problems = team_problems({
            "opening_hours": self.opening_hours, "holiday_country": self.holiday_country,
            "holiday_subdivision": self.holiday_subdivision, "slack_webhook_url": self.slack_webhook_url,
            "msteams_webhook_url": self.msteams_webhook_url, "escalation": self.escalation,
            "escalation_delay_minutes": self.escalation_delay_minutes,
        })
        current = set(Team.objects.filter(is_default=True).values_list("id", flat=True))
        problems.update(default_team_problems(team_id=self.pk, is_default=self.is_default, current_default_ids=current))
        if problems:
            raise ValidationError(problems)

    def validate_constraints(self, exclude=None):
        # Saving a team as the default moves the flag (accounts.teams.team_save), so another
        # default is not a conflict for a form; the database constraint still guards the table.
        exclude = set(exclude or ())
        if self.is_default:
            exclude.add("is_default")
        super().validate_constraints(exclude=exclude)


class Membership(models.Model):
    """A user in a team. Managers of a team see its cases and figures and get its escalations."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    is_manager = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="accounts_membership_unique_user_team"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}{' (manager)' if self.is_manager else ''}"


def visible_team_ids(user) -> set[int] | None:
    """The one answer to "what may this user see?": team ids whose objects `user` may see, or None
    for "every team" (admins). Every list, detail view, API endpoint, export and report scopes its
    queryset through it (directly, through accounts.selectors.scope_by_team or Team.objects.visible_to).

    - admin (role or superuser): every team;
    - manager: the teams they are a member or manager of;
    - agent: the teams they are a member of.
    Anonymous and inactive users see nothing.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    if user.is_admin_role:
        return None
    cache = getattr(user, "_visible_team_ids", None)
    if cache is None:
        # Asked on every signed-in page: its statement compiled once per process (core.compiled).
        rows = compiled_values(("accounts.visible_team_ids",), _memberships, {"user": user.pk},
                               using=router.db_for_read(Membership))
        cache = {row["team_id"] for row in rows}
        user._visible_team_ids = cache
    return cache


def _memberships(args: dict):
    return Membership.objects.filter(user_id=args["user"]).values("team_id")


class ClosedDay(models.Model):
    """A day a team is closed beyond public holidays (stock-take, company event)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField()
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["team", "date"], name="accounts_closedday_unique_team_date",
                                    violation_error_message=_("The team is already closed that day.")),
        ]

    def __str__(self) -> str:
        return f"{self.team} closed on {self.date}" + (f" ({self.name})" if self.name else "")


class SlaPolicy(models.Model):
    """Targets in business hours for first contact and resolution, chosen by priority and tier.

    The most specific active policy wins: one naming both priority and tier, then priority
    only, then tier only, then the catch-all (both blank)."""

    name = models.CharField(max_length=120, unique=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, blank=True)
    customer_tier = models.CharField(max_length=60, blank=True)
    first_contact_hours = models.DecimalField(max_digits=6, decimal_places=2)
    resolution_hours = models.DecimalField(max_digits=6, decimal_places=2)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_contact_hours__gt=0) & models.Q(resolution_hours__gt=0),
                name="accounts_slapolicy_positive_targets",
                violation_error_message=_("Targets are a positive number of business hours, e.g. 4."),
            ),
            models.CheckConstraint(
                condition=models.Q(resolution_hours__gte=models.F("first_contact_hours")),
                name="accounts_slapolicy_resolution_after_first_contact",
                violation_error_message=_("Resolution cannot be due before first contact."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        """accounts.validation.sla_problems: field errors a person can act on (the check
        constraints above only guard the table)."""
        if problems := sla_problems(self.first_contact_hours, self.resolution_hours):
            raise ValidationError(problems)

    def validate_constraints(self, exclude=None):
        # clean() has said it in words already; the constraint's own message would repeat it.
        exclude = set(exclude or ())
        if sla_problems(self.first_contact_hours, self.resolution_hours):
            exclude |= {"first_contact_hours", "resolution_hours"}
        super().validate_constraints(exclude=exclude)


class SsoIdentity(models.Model):
    """A person's account at the OpenID Connect provider: the issuer and its `sub` claim, which never
    changes for that account (an e-mail address may). Made at the first single sign-on
    (accounts.sso.services.sso_sign_in); later sign-ins find the user through it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sso_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="accounts_ssoidentity_unique_issuer_subject"),
            # One account per person at each provider: a second `sub` may not take over the user.
            models.UniqueConstraint(fields=["user", "issuer"], name="accounts_ssoidentity_unique_user_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"


class ApiToken(models.Model):
    """A key for the REST API, made by accounts.services.tokens and shown once when it is made.

    The key is `cl_` + an 8-character lookup id + a 43-character secret (256 random bits); the
    table keeps the key's first 11 characters (`prefix`, to find the row and to recognise the
    token in a list) and the key's SHA-256 (compared in constant time), never the key. Keys made
    by DRF's authtoken before this table existed (40 hex characters) were moved here by migration
    accounts 0004, hashed, with their first 8 characters as the prefix. A token has a name its owner chose, an optional expiry and may be read-only
    (safe methods only). Revoking deletes the row. A token's scope says where it works: the REST API,
    or only SCIM provisioning (/scim/v2/, CX admins' tokens only; accounts.scim.auth)."""

    class Scope(models.TextChoices):
        API = "api", "REST API"
        SCIM = "scim", "SCIM provisioning"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=11, unique=True, help_text=_("The key's start: cl_ and its lookup id."))
    digest = models.CharField(max_length=64, help_text=_("SHA-256 of the whole key, hex."))
    read_only = models.BooleanField(default=False, help_text=_("GET, HEAD and OPTIONS only."))
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.API,
                             help_text=_("REST API (/api/v1/) or SCIM provisioning (/scim/v2/) only."))
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text=_("Empty: never expires."))
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user_id", "-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


# Registered with this app: the two-factor policy lives in its own package (accounts/two_factor/).
from accounts.two_factor.models import TwoFactorPolicy  # noqa: E402, F401
