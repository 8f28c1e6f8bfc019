"""Forms of the customer pages: what a person may type, checked before a service is called."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import AccountRule
from surveys.consent import Consent


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=[("any", _("Any channel")), ("email", _("E-mail")),
                                                             ("phone", _("Phone")), ("sms", _("SMS"))])
    consent = forms.ChoiceField(label=_("Consent"), choices=Consent.choices, required=False)
    via = forms.CharField(label=_("How the customer told us"), max_length=120, required=False,
                          help_text=_("E.g. on a call, by letter, in the store."))


class MergeForm(forms.Form):
    merged = forms.IntegerField(label=_("Merge customer (id)"), min_value=1,
                                help_text=_("This customer's responses, cases and identities move to the other."))
    target = forms.IntegerField(label=_("into customer (id)"), min_value=1)
    reason = forms.CharField(label=_("Why"), max_length=500, required=False)


class AccountRuleForm(forms.ModelForm):
    """An account rule as CX admins edit it; customers.services.account_rule_save validates again."""

    class Meta:
        model = AccountRule
        fields = ["name", "kind", "points", "window_days", "min_respondents", "team", "priority", "active"]
        labels = {"kind": _("Opens a case when"), "points": _("NPS points"), "window_days": _("Days"),
                  "min_respondents": _("Respondents at least"), "team": _("Team inbox")}
