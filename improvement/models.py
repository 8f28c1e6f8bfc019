"""Action plans: what the organisation changes so a cause of complaints stops recurring."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ActionPlan(models.Model):
    """An improvement action. It targets root causes, themes and touchpoints (any of them); its
    page compares their scores and case volume before and after `change_date`, the day the change
    went live (the due date until someone sets it)."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        ABANDONED = "abandoned", _("Abandoned")

    OPEN_STATUSES = (Status.PLANNED, Status.IN_PROGRESS)

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what will change"), blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_plans",
                              verbose_name=_("owner"))
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="action_plans", verbose_name=_("team"),
                             help_text=_("Blank: the whole organisation. A team's managers see its plans."))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLANNED)
    due_date = models.DateField(_("due date"))
    change_date = models.DateField(_("change live on"), null=True, blank=True,
                                   help_text=_("The day the change reached customers: figures before and after it "
                                               "are compared. Blank: the due date."))
    root_causes = models.ManyToManyField("cases.RootCause", blank=True, related_name="action_plans",
                                         verbose_name=_("root causes"))
    themes = models.ManyToManyField("surveys.Theme", blank=True, related_name="action_plans",
                                    verbose_name=_("themes"))
    touchpoints = models.JSONField(_("touchpoints"), default=list, blank=True)
    cases = models.ManyToManyField("cases.Case", blank=True, related_name="action_plans",
                                   verbose_name=_("linked cases"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [
            # Overdue plans on the manager dashboard: open ones by due date.
            models.Index(fields=["due_date"], name="improvement_plan_open_due",
                         condition=models.Q(status__in=["planned", "in_progress"])),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def pivot_date(self):
        return self.change_date or self.due_date

    @property
    def overdue(self) -> bool:
        return self.is_overdue_on(timezone.localdate())

    def is_overdue_on(self, day) -> bool:
        return self.status in self.OPEN_STATUSES and self.due_date < day


class ActionPlanNote(models.Model):
    """A note on a plan: progress written by a person, or a change the service recorded."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    text = models.TextField(blank=True)
    # What the service did, as a code and its values ({"said": "created", ...}): worded when read.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.shown[:60]

    @property
    def shown(self) -> str:
        """The note in the active language: a person's words as written, the service's worded now."""
        if not self.data:
            return self.text
        said = self.data.get("said")
        if said == "created":
            return _("Plan created, owner %(owner)s, due %(due)s.") % {"owner": self.data.get("owner", ""),
                                                                       "due": self.data.get("due", "")}
        if said == "linked":
            return _("Linked %(refs)s.") % {"refs": ", ".join(self.data.get("refs") or [])}
        if said == "unlinked":
            return _("Unlinked %(ref)s.") % {"ref": self.data.get("ref", "")}
        if said == "changed":
            return _("Changed: %(changes)s.") % {"changes": "; ".join(_change(c) for c in self.data.get("changes") or [])}
        return self.text


def _status_label(value: str) -> str:
    return str(ActionPlan.Status(value).label) if value in ActionPlan.Status.values else value


def _change(change: dict) -> str:
    what = change.get("what")
    if what == "status":
        return _("status %(old)s → %(new)s") % {"old": _status_label(change.get("old", "")),
                                                "new": _status_label(change.get("new", ""))}
    if what == "owner":
        return _("owner → %(owner)s") % {"owner": change.get("name", "")}
    if what == "due":
        return _("due %(old)s → %(new)s") % {"old": change.get("old", ""), "new": change.get("new", "")}
    return _("change live on %(day)s") % {"day": change.get("day") or "—"}


class OuterLoopAlert(models.Model):
    """One episode of a root cause, theme or touchpoint out of its normal range
    (improvement.outer_loop): opened with its first week out, closed with the first week back."""

    class Kind(models.TextChoices):
        ROOT_CAUSE = "root_cause", _("Root cause")
        THEME = "theme", _("Theme")
        TOUCHPOINT = "touchpoint", _("Touchpoint")

    class Metric(models.TextChoices):
        VOLUME = "volume", _("Volume")
        DETRACTOR_SHARE = "detractor_share", _("Detractor share")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=120, help_text=_("The root cause's or theme's id, or the touchpoint."))
    label = models.CharField(max_length=200)
    metric = models.CharField(max_length=16, choices=Metric.choices)
    opened_week = models.DateField(help_text=_("Monday of the first week out of range."))
    last_week = models.DateField(help_text=_("Monday of the latest week out of range."))
    closed_week = models.DateField(null=True, blank=True, help_text=_("Monday of the first week back in range."))
    # The weekly figures, the centre and the limit; the sentence is made in the reader's language.
    evidence = models.JSONField(default=dict)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text=_("Blank: every CX admin was told."))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_week", "-pk"]
        constraints = [
            # At most one ongoing episode per signal: the scan that finds it open carries it on.
            models.UniqueConstraint(fields=["kind", "key", "metric"], condition=models.Q(closed_week__isnull=True),
                                    name="improvement_outerloop_one_open_episode"),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def summary(self) -> str:
        from cases.inapp import outer_loop_sentence

        return outer_loop_sentence({"label": self.label, "metric": self.metric, **self.evidence})
