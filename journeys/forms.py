"""The settings pages' forms; saving goes through journeys.services."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from journeys.models import Journey, Stage
from surveys.models import Survey, WebhookSource


class JourneyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, help_text=_("For example “Subscriber”."))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    relationship_survey = forms.ModelChoiceField(
        label=_("Relationship survey"), required=False, queryset=Survey.objects.order_by("name"),
        empty_label=_("None yet"),
        help_text=_("The survey whose NPS answer is the customer's relationship score; moments of truth are "
                    "estimated against it."),
    )


class NewJourneyForm(JourneyForm):
    usual_stages = forms.BooleanField(
        label=_("Start with the usual stages (discover, buy, receive, use, get help, renew)"), required=False,
        initial=True,
    )


class StageForm(forms.Form):
    name = forms.CharField(label=_("Stage"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MappingForm(forms.Form):
    """One touchpoint, survey or source to a stage of `journey`."""

    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none(), empty_label=None)
    touchpoint = forms.CharField(label=_("Touchpoint"), max_length=120, required=False)
    survey = forms.ModelChoiceField(label=_("Survey"), queryset=Survey.objects.order_by("name"), required=False,
                                    empty_label=_("No survey"))
    source = forms.ModelChoiceField(label=_("Webhook source"), queryset=WebhookSource.objects.order_by("name"),
                                    required=False, empty_label=_("No source"))

    def __init__(self, *args, journey: Journey, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = journey.stages.order_by("position", "pk")
        self.fields["touchpoint"].widget.attrs["list"] = "journey-touchpoints"

    def clean(self):
        cleaned = super().clean()
        chosen = [bool((cleaned.get("touchpoint") or "").strip()), cleaned.get("survey") is not None,
                  cleaned.get("source") is not None]
        if sum(chosen) != 1:
            raise ValidationError(_("Fill in exactly one of touchpoint, survey and webhook source."))
        return cleaned
