"""What agents work with: e-mail templates, playbooks, and the trained root-cause model."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


from cases.models.taxonomy import RootCause


class EmailTemplate(models.Model):
    """An admin-managed e-mail to a customer. Subject and body may use {{ customer.name }},
    {{ score }}, {{ comment }}, {{ case.reference }} and {{ agent.name }}; staff edit the filled-in
    text before sending."""

    name = models.CharField(max_length=120, unique=True)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)
    # The case page offers a customer the templates in their language (accounts.preferences.customer_language).
    language = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES, help_text=_(
        "Offered for customers who speak this language (blank: for every customer)."))

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
    steps = models.JSONField(default=list, blank=True, help_text=_("The checklist, one short step per item."))
    script = models.TextField(blank=True, help_text=_("What to say when contacting the customer."))
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
    trained_on = models.PositiveIntegerField(help_text=_("Closed cases it learned from."))
    classes = models.PositiveIntegerField(help_text=_("Distinct root causes it can suggest."))
    accuracy_top1 = models.FloatField(null=True, blank=True, help_text=_("On held-out closed cases."))
    accuracy_top3 = models.FloatField(null=True, blank=True)
    held_out = models.PositiveIntegerField(default=0)
    blob = models.BinaryField(
        help_text=_("The fitted parameters: zlib-compressed JSON (cases.suggest_store), never a pickle.")
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Root-cause model of {self.created_at:%Y-%m-%d %H:%M} ({self.trained_on} cases)"


# Its own module: this one is at its size limit.
from cases.mail.models import InboundMail, OutgoingMail  # noqa: E402,F401
from cases.saved_views.models import SavedView  # noqa: E402,F401
