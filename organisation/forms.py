"""Forms of the settings pages. Validation is the models' clean() (accounts.validation,
cases.validation: the API and the Django admin run the same functions); saving goes through
accounts.teams and organisation.services."""

from __future__ import annotations

import re
import zoneinfo

import holidays as holidays_lib
from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import ClosedDay, SlaPolicy, Team, User
from accounts.validation import DAY_NAMES, WEEKDAYS
from cases.models import RootCause, RootCauseCategory, RoutingRule
from organisation.hours import Row, editor_rows, stored_hours
from segments.models import Segment
from surveys.models import Customer, Survey

MIN_ROWS = 2  # editor rows per day (one more than the day has, at least this many)


class ListField(forms.CharField):
    """A list of short names typed as "a, b, c" (or one per line)."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value):
        seen, items = set(), []
        for item in re.split(r"[,\n]", super().to_python(value) or ""):
            item = " ".join(item.split())
            if item and item.lower() not in seen:
                seen.add(item.lower())
                items.append(item)
        return items


class TeamForm(forms.ModelForm):
    """A team with its weekly business hours (rows named <day>-<n>-start/end/overnight),
    time zone, holiday calendar and notification channels."""

    opening_hours = forms.JSONField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Team
        fields = ["name", "is_default", "assignment", "unanswered_attempt_stops_first_contact", "timezone", "opening_hours", "holiday_country",
                  "holiday_subdivision", "escalation", "escalation_delay_minutes", "escalation_email",
                  "slack_webhook_url", "msteams_webhook_url", "mail_from", "mail_reply_to_closed", "language"]
        labels = {"language": _("Customers’ language when theirs is unknown"),"mail_from": _("Customer e-mails come from"), "mail_reply_to_closed": _("A reply to a closed case"),
                  "is_default": _("Default team (catches every case no routing rule claims)"), "timezone": _("Time zone"),
                  "holiday_country": _("Public holidays: country"), "holiday_subdivision": _("Public holidays: region"),
                  "slack_webhook_url": _("Slack incoming-webhook URL"), "msteams_webhook_url": _("Microsoft Teams webhook URL")}
        help_texts = {"language": _("Customer e-mails, the “Did we put it right?” page and the e-mail templates the "
                                    "case page offers use the customer’s own language when the response says or "
                                    "shows it; otherwise this one."),
                      "timezone": _("IANA name, e.g. Europe/London. Business hours are in this time zone."),
                      "holiday_country": _("Two-letter ISO code (GB, US, DE…); blank: no public holidays."),
                      "holiday_subdivision": _("Optional, e.g. SCT for Scotland or CA for California.")}
        widgets = {"timezone": forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
                   "holiday_country": forms.TextInput(attrs={"list": "holiday-countries", "autocomplete": "off"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.setdefault("autocomplete", "off")
        # Optional in a post that leaves it out (older clients): the model's default, reopen.
        self.fields["mail_reply_to_closed"].required = False
        # One of the languages the product speaks; a post that leaves it out keeps the team's.
        self.fields["language"].required = False
        self.fields["language"].choices = list(settings.LANGUAGES)
        if self.is_bound:
            counts = {day: max(MIN_ROWS, 1 + max([int(m.group(1)) for key in self.data
                                                   if (m := re.match(rf"^{day}-(\d+)-start$", key))] or [-1]))
                      for day in WEEKDAYS}
            rows = {day: [Row() for _ in range(counts[day])] for day in WEEKDAYS}
        else:
            rows = editor_rows(self.instance.opening_hours if self.instance.pk else Team().opening_hours)
            rows = {day: rows[day] + [Row()] * max(1, MIN_ROWS - len(rows[day])) for day in WEEKDAYS}
        self.days = []
        for day in WEEKDAYS:
            day_rows = []
            for n, row in enumerate(rows[day]):
                names = (f"{day}-{n}-start", f"{day}-{n}-end", f"{day}-{n}-overnight")
                self.fields[names[0]] = forms.CharField(required=False, label=_("%(day)s opens") % {"day": DAY_NAMES[day]}, initial=row.start,
                                                        widget=forms.TextInput(attrs={"placeholder": "hh:mm", "size": 5}))
                self.fields[names[1]] = forms.CharField(required=False, label=_("%(day)s closes") % {"day": DAY_NAMES[day]}, initial=row.end,
                                                        widget=forms.TextInput(attrs={"placeholder": "hh:mm", "size": 5}))
                self.fields[names[2]] = forms.BooleanField(required=False, label=_("ends next day"), initial=row.overnight)
                day_rows.append(names)
            self.days.append({"key": day, "name": DAY_NAMES[day], "rows": day_rows})

    def hour_rows(self):
        """[(day name, [(start field, end field, overnight field), ...]), ...] for the template."""
        return [(day["name"], [tuple(self[name] for name in names) for names in day["rows"]]) for day in self.days]

    def clean(self):
        data = super().clean()
        rows = {day["key"]: [Row(data.get(names[0]) or "", data.get(names[1]) or "", bool(data.get(names[2])))
                             for names in day["rows"]] for day in self.days}
        hours, errors = stored_hours(rows)
        for field, message in errors.items():
            self.add_error(field, message)
        data["opening_hours"] = hours
        if not data.get("mail_reply_to_closed"):  # left out: keep what the team has (new teams: reopen)
            data["mail_reply_to_closed"] = self.instance.mail_reply_to_closed or Team.ClosedReply.REOPEN
        if not data.get("language"):  # left out: keep what the team has (new teams: the site's language)
            data["language"] = self.instance.language or settings.LANGUAGE_CODE
        return data


class MembershipForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True), label=_("Person"))
    is_manager = forms.BooleanField(required=False, label=_("Manager of this team"))


class ClosedDayForm(forms.ModelForm):
    class Meta:
        model = ClosedDay
        fields = ["date", "name"]
        labels = {"date": _("Closed on"), "name": _("Why (optional)")}
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = ["name", "priority", "customer_tier", "first_contact_hours", "resolution_hours", "active"]
        labels = {"name": _("Name"), "priority": _("Priority"), "customer_tier": _("Customer tier"),
                  "first_contact_hours": _("First contact within (business hours)"),
                  "resolution_hours": _("Resolved within (business hours)"), "active": _("Active")}
        help_texts = {"priority": _("Blank: any priority."), "customer_tier": _("Blank: any tier.")}


class RoutingRuleForm(forms.ModelForm):
    touchpoints = ListField(required=False, label=_("Touchpoints"),
                            help_text=_("Comma-separated, e.g. delivery, store. Blank: any."))
    locations = ListField(required=False, label=_("Locations"),
                          help_text=_("Locations or regions, e.g. Leeds, North. Blank: any."))
    channels = ListField(required=False, label=_("Channels"), help_text=_("e.g. email, web. Blank: any."))
    customer_tiers = ListField(required=False, label=_("Customer tiers"), help_text=_("e.g. Gold. Blank: any."))
    metrics = ListField(required=False, label=_("Metrics"),
                        help_text=_("nps, csat, ces or question keys: matches responses carrying any. Blank: any."))

    class Meta:
        model = RoutingRule
        fields = ["name", "order", "active", "team", "surveys", "touchpoints", "locations", "channels",
                  "customer_tiers", "segments", "metrics", "sla_policy"]
        labels = {"name": _("Name"), "order": _("Order"), "active": _("Active"), "surveys": _("Surveys"),
                  "team": _("Send to team"), "sla_policy": _("SLA policy"),
                  "segments": _("Customer in any of these segments")}
        help_texts = {"order": _("Rules are tried from the lowest number; the first that matches wins.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["surveys"].queryset = Survey.objects.order_by("name")
        self.fields["surveys"].required = False
        self.fields["segments"].queryset = Segment.objects.order_by("name")
        self.fields["segments"].required = False
        self.fields["segments"].help_text = _("Blank: any customer. Segments are defined under Settings → Segments.")


class RouteTestForm(forms.Form):
    """A response to try the routing rules on (what the response would carry)."""

    survey = forms.ModelChoiceField(queryset=Survey.objects.order_by("name"), required=False, label=_("Survey"))
    touchpoint = forms.CharField(required=False, max_length=120, label=_("Touchpoint"))
    location = forms.CharField(required=False, max_length=120, label=_("Location"))
    region = forms.CharField(required=False, max_length=120, label=_("Region"))
    channel = forms.CharField(required=False, max_length=120, label=_("Channel"))
    customer_tier = forms.CharField(required=False, max_length=60, label=_("Customer tier"))
    customer = forms.CharField(
        required=False, max_length=255, label=_("Customer (e-mail or external id)"),
        help_text=_("For rules with segments: the customer the response would come from."))
    metric = forms.ChoiceField(choices=[("nps", "NPS"), ("csat", "CSAT"), ("ces", "CES")], initial="nps", label=_("Metric"))

    def clean_customer(self):
        value = (self.cleaned_data.get("customer") or "").strip()
        if not value:
            return None
        found = Customer.objects.filter(Q(email__iexact=value) | Q(external_id=value), merged_into__isnull=True).first()
        if found is None:
            raise forms.ValidationError(_("No customer has the e-mail or external id “%(value)s”.") % {"value": value})
        return found


class CategoryForm(forms.ModelForm):
    class Meta:
        model = RootCauseCategory
        fields = ["name", "order", "active"]


class CauseForm(forms.ModelForm):
    class Meta:
        model = RootCause
        fields = ["category", "name", "active"]


def timezone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def holiday_countries() -> list[str]:
    return sorted(holidays_lib.list_supported_countries())
