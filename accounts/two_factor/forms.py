"""Forms of the two-factor pages: they only collect input (accounts.two_factor.services decides)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=32,
        help_text=_("The 6 digits your authenticator app shows now, or one of your backup codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off",
                                      "spellcheck": "false", "autofocus": True}),
    )


class PolicyForm(forms.Form):
    agents = forms.BooleanField(label=_("Frontline agents"), required=False)
    managers = forms.BooleanField(label=_("Managers"), required=False)
    admins = forms.BooleanField(label=_("CX admins (and superusers)"), required=False)
