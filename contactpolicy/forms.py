from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contactpolicy.models import ContactPolicy
from contactpolicy.services import valid_zone


class PolicyForm(forms.ModelForm):
    class Meta:
        model = ContactPolicy
        fields = ["max_surveys", "period_days", "open_case_blocks", "days_after_close", "quiet_hours",
                  "quiet_start", "quiet_end", "default_time_zone"]
        widgets = {
            "quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def clean_period_days(self):
        value = self.cleaned_data["period_days"]
        if value < 1:
            raise forms.ValidationError(_("The period is at least one day."))
        return value

    def clean_default_time_zone(self):
        value = (self.cleaned_data.get("default_time_zone") or "").strip()
        if value and not valid_zone(value):
            raise forms.ValidationError(_("Not a time zone: use an IANA name such as Europe/Madrid."))
        return value


class CheckForm(forms.Form):
    """The settings page's "ask the policy" box: the same answer the API gives."""

    email = forms.EmailField(label=_("Customer's e-mail"), required=True)
