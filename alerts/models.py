"""Alert rules (what deserves attention) and the alerts they raise on responses."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Priority, SlaPolicy, Team
from surveys.models import Metric, Survey, SurveyResponse


class AlertRule(models.Model):
    """Conditions that must all hold for a response, and what to do when they do.

    Rules run in `order`; a matching rule with `stop_processing` ends evaluation."""

    class Operator(models.TextChoices):
        LTE = "lte", _("is at most")
        GTE = "gte", _("is at least")
        BETWEEN = "between", _("is between")

    class KeywordMode(models.TextChoices):
        ANY = "any", _("any of")
        ALL = "all", _("all of")

    class CommentPresence(models.TextChoices):
        EITHER = "", _("with or without a comment")
        WITH = "with", _("with a comment")
        WITHOUT = "without", _("without a comment")

    class SentimentCondition(models.TextChoices):
        ANY = "", _("any sentiment")
        NEGATIVE = "negative", _("negative comment")
        POSITIVE = "positive", _("positive comment")

    class Action(models.TextChoices):
        OPEN_CASE = "open_case", _("Open a case")
        NOTIFY = "notify", _("Notify by e-mail")
        PRAISE = "praise", _("Praise alert")

    name = models.CharField(max_length=160)
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)

    # Score condition, on the question's own scale.
    metric = models.CharField(max_length=10, choices=Metric.choices, default=Metric.NPS)
    metric_key = models.CharField(max_length=120, blank=True, help_text=_("Question key, for 'other numeric question'."))
    operator = models.CharField(max_length=10, choices=Operator.choices, default=Operator.LTE)
    threshold = models.DecimalField(max_digits=8, decimal_places=2)
    threshold_high = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    # The scale the threshold is written on. NPS is always 0-10; blank CSAT means 1-5 and blank
    # CES 1-7; a custom question must declare its scale. A response whose question is on another
    # scale does not match (it is another question): see alerts.rules.
    scale_min = models.SmallIntegerField(null=True, blank=True)
    scale_max = models.SmallIntegerField(null=True, blank=True)
    ces_high_is_easy = models.BooleanField(
        default=True,
        help_text=_("CES only: the direction the threshold is written in (on, e.g., 1-7, is 7 the easiest?). "
        "Responses from a source with the other direction are flipped before comparing."),
    )

    # Optional segment conditions: empty means "any".
    surveys = models.ManyToManyField(Survey, blank=True, related_name="alert_rules")
    touchpoints = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list, blank=True)
    locations = models.JSONField(default=list, blank=True, help_text=_("Locations or regions."))
    customer_tiers = models.JSONField(default=list, blank=True)
    customer_segments = models.JSONField(default=list, blank=True)
    segments = models.ManyToManyField(
        "segments.Segment", blank=True, related_name="alert_rules",
        help_text=_("The customer is in any of these named segments (empty: any customer)."),
    )
    keywords = models.JSONField(default=list, blank=True)
    keyword_mode = models.CharField(max_length=4, choices=KeywordMode.choices, default=KeywordMode.ANY)
    comment_presence = models.CharField(max_length=8, choices=CommentPresence.choices, blank=True, default="")
    sentiment = models.CharField(max_length=10, choices=SentimentCondition.choices, blank=True, default="")
    themes = models.ManyToManyField(
        "surveys.Theme", blank=True, related_name="alert_rules",
        help_text=_("The comment is about any of these themes (empty: any)."),
    )

    # Action.
    action = models.CharField(max_length=12, choices=Action.choices, default=Action.OPEN_CASE)
    case_priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    case_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("Blank: let routing decide."),
    )
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("Blank: the policy for the case's priority and customer tier."),
    )
    notify_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    notify_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stop_processing = models.BooleanField(default=False, help_text=_("Skip later rules when this one matches."))
    repeat_window_days = models.PositiveIntegerField(
        default=14,
        help_text=_("A matching response from a customer with a case open (or closed within this many days) "
        "is attached to that case instead of opening another."),
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(operator="between") | models.Q(threshold_high__isnull=False),
                name="alerts_alertrule_between_has_high",
            ),
            models.CheckConstraint(
                condition=models.Q(threshold_high__isnull=True) | models.Q(threshold_high__gte=models.F("threshold")),
                name="alerts_alertrule_high_not_below_low",
            ),
        ]
        indexes = [
            # Loading the active rules in evaluation order (alerts.selectors.active_rules).
            models.Index(fields=["order", "id"], name="alerts_rule_active_order", condition=models.Q(active=True)),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from alerts.validation import rule_problems

        problems = rule_problems(rule_values(self))
        if problems:
            raise ValidationError(problems)

    @property
    def scale(self) -> tuple[int, int] | None:
        """(min, max) the threshold is written on, None for a custom question without one."""
        from alerts.validation import effective_scale

        return effective_scale(self.metric, self.scale_min, self.scale_max)


def rule_values(rule: AlertRule) -> dict:
    """The condition fields of a rule as a plain dict (what the shared validator reads)."""
    return {
        name: getattr(rule, name)
        for name in (
            "metric", "metric_key", "operator", "threshold", "threshold_high", "scale_min", "scale_max",
            "keywords", "keyword_mode", "action", "comment_presence", "sentiment",
        )
    }


class Alert(models.Model):
    """A rule that matched a response; `reasons` records which conditions matched and why.

    An open-case alert becomes (or joins) a case; a notify alert is an e-mail to the rule's
    people; a praise alert is a recognition record: the promoter's words, sent to the staff member
    the response names (`praised_user`) or to the team, never a case."""

    class EmailStatus(models.TextChoices):
        NONE = "", _("No e-mail")
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    rule = models.ForeignKey(AlertRule, on_delete=models.PROTECT, related_name="alerts")
    # Its database constraint points at the response keys on PostgreSQL (core.partition_refs).
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="alerts", db_constraint=False)
    action = models.CharField(max_length=12, choices=AlertRule.Action.choices)
    reasons = models.JSONField(default=list)
    praised_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="praise_alerts",
        help_text=_("Praise: the staff member the response names, when one matched a user."),
    )
    email_status = models.CharField(max_length=8, choices=EmailStatus.choices, blank=True, default="")
    email_recipients = models.JSONField(default=list, blank=True)
    email_error = models.TextField(blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True, help_text=_("When a worker started sending."))
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "response"], name="alerts_alert_unique_rule_response"),
        ]
        indexes = [
            # The e-mail task's retry sweep: only alerts whose e-mail is still owed.
            models.Index(
                fields=["created_at"], name="alerts_alert_email_owed",
                condition=models.Q(email_status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.response}"
