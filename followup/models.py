"""After the case: did we put it right, and who did customers thank?

- `Verification`: one "Did we put it right?" check per closure of a case that closed as resolved
  with the customer (round = the case's reopen count at closure), sent by e-mail with a signed,
  expiring link; the answer lands on the case timeline and a low one reopens the case.
- `Recognition`: a promoter's comment that names a member of staff or a location, sent to the
  managers as recognition and listed in the recognition feed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from alerts.models import Alert
from cases.models import Case, RootCause
from surveys.models import Customer, SurveyResponse


class Verification(models.Model):
    """A recovery check: the customer is asked once per closure whether the fix worked.

    Created by the sweep (followup.services.verifications_create_due) as pending, or skipped
    with the reason when the customer may not be asked; sent by a task (sent, or failed after the
    retries); answered on the public page (answered) or never (expired once the link runs out)."""

    class Question(models.TextChoices):
        SCALE = "scale", _("0–10 scale")
        YES_NO = "yes_no", _("Yes or no")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        ANSWERED = "answered", _("Answered")
        EXPIRED = "expired", _("Expired unanswered")
        FAILED = "failed", _("Could not be sent")
        SKIPPED = "skipped", _("Not asked")

    class SkipReason(models.TextChoices):
        NONE = "", "—"
        NO_EMAIL = "no_email", _("No e-mail address")
        OPTED_OUT = "opted_out", _("Customer opted out of contact")
        ERASED = "erased", _("Customer data erased")
        FATIGUE = "fatigue", _("Asked recently (survey fatigue)")
        REOPENED = "reopened", _("Case reopened before the check was sent")
        POLICY = "policy", _("Over the contact policy's limit on surveys")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="verifications")
    round = models.PositiveSmallIntegerField(help_text=_("The case's reopen count at the closure this check is about."))
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="verifications"
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="verifications", db_index=False,
        help_text=_("The case's team at closure."),
    )  # indexed below with answered_at
    root_cause = models.ForeignKey(
        RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="verifications", db_index=False
    )
    touchpoint = models.CharField(max_length=120, blank=True, help_text=_("From the response that opened the case."))
    email = models.EmailField(max_length=254, blank=True, help_text=_("The address asked."))
    question = models.CharField(max_length=8, choices=Question.choices, default=Question.SCALE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(max_length=12, choices=SkipReason.choices, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_value = models.SmallIntegerField(null=True, blank=True, help_text=_("0–10, or 1 (yes) / 0 (no)."))
    recovered = models.BooleanField(null=True, blank=True, help_text=_("Scale 7 or more, or yes."))
    comment = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "round"], name="followup_verification_unique_case_round"),
            models.CheckConstraint(
                condition=Q(answer_value__isnull=True) | Q(answer_value__gte=0, answer_value__lte=10),
                name="followup_verification_answer_0_10",
            ),
        ]
        indexes = [
            # Reporting: verified recovery by team over a period of answers.
            models.Index(fields=["team", "answered_at"], name="followup_verif_team_answered"),
            # Survey fatigue: when was this customer last asked?
            models.Index(
                fields=["customer", "-sent_at"], name="followup_verif_customer_sent",
                condition=Q(sent_at__isnull=False),
            ),
            # The send re-drive: checks still waiting to be sent.
            models.Index(fields=["created_at"], name="followup_verif_pending", condition=Q(status="pending")),
            # Expiring unanswered checks.
            models.Index(fields=["expires_at"], name="followup_verif_sent", condition=Q(status="sent")),
        ]

    def __str__(self) -> str:
        return f"Recovery check {self.case_id}/{self.round} ({self.status})"

    @property
    def answer_text(self) -> str:
        """The answer as words: "9 of 10", "yes", "no" (empty while unanswered)."""
        if self.answer_value is None:
            return ""
        if self.question == self.Question.YES_NO:
            return gettext("yes") if self.answer_value else gettext("no")
        return gettext("%(value)s of 10") % {"value": self.answer_value}


class Recognition(models.Model):
    """A promoter's comment that names a member of staff or a location: recognition for them,
    e-mailed to their managers (the person in copy) and listed in the recognition feed."""

    # Its database constraint points at the response keys on PostgreSQL (core.partition_refs).
    response = models.OneToOneField(SurveyResponse, on_delete=models.CASCADE, related_name="recognition",
                                    db_constraint=False)
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="recognitions")
    praised_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="recognitions"
    )
    location = models.CharField(max_length=120, blank=True, help_text=_("The location the comment names."))
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="recognitions")
    quote = models.TextField()
    score = models.SmallIntegerField(null=True, blank=True, help_text=_("The NPS (or CSAT) given."))
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True, help_text=_("Ids of the users e-mailed."))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The feed: newest first within the teams a person sees.
            models.Index(fields=["team", "-created_at"], name="followup_recog_team_recent"),
            models.Index(fields=["-created_at"], name="followup_recog_recent"),
        ]

    def __str__(self) -> str:
        who = self.praised_user or self.location or "the team"
        return f"Recognition for {who} ({self.response_id})"
