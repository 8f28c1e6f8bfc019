"""The rule editor's form. Validation is alerts.validation.rule_problems (the validator the model
and the API use too); saving goes through alerts.services."""

from __future__ import annotations

import re

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import SlaPolicy, Team, User
from alerts.models import AlertRule
from alerts.validation import rule_problems
from segments.models import Segment
from surveys.models import Survey, Theme

M2M_FIELDS = ("surveys", "notify_users", "themes", "segments")


class ListField(forms.CharField):
    """A list of short texts typed as "a, b, c" (or one per line)."""

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        seen, items = set(), []
        for item in re.split(r"[,\n]", text):
            item = " ".join(item.split())
            if item and item.lower() not in seen:
                seen.add(item.lower())
                items.append(item)
        return items


class AlertRuleForm(forms.ModelForm):
    touchpoints = ListField(required=False, label=_("Touchpoints"),
                            help_text=_("Comma-separated, e.g. Store visit, Delivery. Blank: any."))
    channels = ListField(required=False, label=_("Channels"), help_text=_("Comma-separated, e.g. email, sms. Blank: any."))
    locations = ListField(required=False, label=_("Locations or regions"), help_text=_("Comma-separated. Blank: any."))
    customer_tiers = ListField(required=False, label=_("Customer tiers"),
                               help_text=_("Comma-separated, e.g. Tier I. Blank: any."))
    customer_segments = ListField(required=False, label=_("Customer segments"),
                                  help_text=_("Comma-separated. Blank: any."))
    keywords = ListField(
        required=False, label=_("Keywords or phrases"),
        help_text=_("Comma-separated; matched as whole words, ignoring case and accents (“cafe” finds “Café”)."),
    )

    class Meta:
        model = AlertRule
        fields = [
            "name", "active", "order", "metric", "metric_key", "scale_min", "scale_max", "ces_high_is_easy",
            "operator", "threshold", "threshold_high", "surveys", "touchpoints", "channels", "locations",
            "customer_tiers", "customer_segments", "segments", "keywords", "keyword_mode", "themes", "comment_presence",
            "sentiment", "action", "case_priority", "case_team", "sla_policy", "notify_users", "notify_team", "stop_processing",
            "repeat_window_days",
        ]
        labels = {
            "metric_key": _("Question key"), "scale_min": _("Scale from"), "scale_max": _("Scale to"),
            "ces_high_is_easy": _("On this CES scale the highest answer is the easiest"),
            "threshold_high": _("Upper bound"), "comment_presence": _("Comment"), "sentiment": _("Comment sentiment"),
            "case_priority": _("Case priority"), "case_team": _("Case team"), "sla_policy": _("SLA policy"),
            "notify_users": _("E-mail these people"), "notify_team": _("E-mail this team"),
            "stop_processing": _("Stop here: skip later rules when this one matches"),
            "repeat_window_days": _("Repeat window (days)"), "themes": _("About any of these themes"),
            "segments": _("Customer in any of these segments"),
        }
        help_texts = {
            "scale_min": _("CSAT defaults to 1–5, CES to 1–7, NPS is always 0–10."),
            "threshold": _("On the scale above."),
            "order": _("Rules run from the lowest number up."),
        }
        widgets = {
            "surveys": forms.SelectMultiple(attrs={"size": 4}),
            "notify_users": forms.SelectMultiple(attrs={"size": 4}),
            "themes": forms.SelectMultiple(attrs={"size": 5}),
            "segments": forms.SelectMultiple(attrs={"size": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["surveys"].queryset = Survey.objects.order_by("name")
        self.fields["surveys"].help_text = "Blank: every survey."
        self.fields["notify_users"].queryset = User.objects.filter(is_active=True).order_by("username")
        # Active themes, and any the rule already names (a retired one stays visible until removed).
        chosen = list(self.instance.themes.values_list("pk", flat=True)) if self.instance.pk else []
        self.fields["themes"].queryset = Theme.objects.filter(
            Q(status=Theme.Status.ACTIVE) | Q(pk__in=chosen)).order_by("name")
        self.fields["themes"].help_text = ("Blank: any. The comment must be tagged with one of them "
                                           "(themes are managed on the Themes page).")
        self.fields["segments"].queryset = Segment.objects.order_by("name")
        self.fields["segments"].help_text = _("Blank: any customer. Segments are defined under Settings → Segments.")
        self.fields["case_team"].queryset = Team.objects.order_by("name")
        self.fields["case_team"].empty_label = "Let routing decide"
        self.fields["notify_team"].queryset = Team.objects.order_by("name")
        self.fields["sla_policy"].queryset = SlaPolicy.objects.filter(active=True).order_by("name")
        self.fields["sla_policy"].empty_label = "The policy for the priority and customer tier"
        self.fields["order"].required = False
        for name in ("threshold", "threshold_high"):
            self.fields[name].widget.attrs["step"] = "any"

    def clean(self):
        cleaned = super().clean()
        values = {name: cleaned.get(name) for name in (
            "metric", "metric_key", "operator", "threshold", "threshold_high", "scale_min", "scale_max", "keywords",
            "keyword_mode", "comment_presence", "sentiment", "action", "notify_team",
        )}
        values["notify_users"] = list(cleaned.get("notify_users") or [])
        values["themes"] = list(cleaned.get("themes") or [])
        for name in ("threshold", "threshold_high", "scale_min", "scale_max", "keywords"):
            if name in self.errors:  # already refused by the field itself
                values.pop(name)
                values[name] = None if name != "keywords" else []
        for field, messages in rule_problems(values).items():
            if field in self.errors:
                continue
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned

    def _post_clean(self):
        """Model validation runs in the service that saves the rule (alerts.services)."""

    def rule_data(self) -> dict:
        """Field values for alerts.services.rule_create / rule_update (without many-to-many)."""
        return {k: v for k, v in self.cleaned_data.items() if k not in M2M_FIELDS}

    def m2m_data(self) -> dict:
        """The many-to-many values for alerts.services.rule_create / rule_update."""
        return {name: self.cleaned_data[name] for name in M2M_FIELDS if name in self.cleaned_data}

    def draft(self) -> AlertRule:
        """An unsaved rule with the form's values (for the preview and the backtest). It carries
        its themes as `draft_themes` and segments as `draft_segments`, which alerts.rules.compile_rule
        and the summary read."""
        rule = AlertRule(**self.rule_data())
        rule.draft_themes = list(self.cleaned_data.get("themes") or [])
        rule.draft_segments = list(self.cleaned_data.get("segments") or [])
        return rule


class BacktestForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=365, initial=30, label=_("Last how many days"))
