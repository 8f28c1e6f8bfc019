"""The set-up page's forms. They only read and check input; the one validation of a source is
surveys.services.sources.source_problems, and saving goes through source_create / source_update."""

from __future__ import annotations

import json

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from surveys.models import FeedbackKind, Vendor
from surveys.services.sources import source_problems


class JSONObjectField(forms.CharField):
    """A JSON object typed into a text area ({} when left empty)."""

    widget = forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"})

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return {}
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}.") from None
        if not isinstance(data, dict):
            raise forms.ValidationError(_("Write a JSON object: {\"key\": \"value\", ...}."))
        return data

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=2, ensure_ascii=False) if value else ""
        return value


# The JSON of the mapping's example is code, not prose: kept out of the translated sentence.
MAPPING_EXAMPLE = '{"ces": "answers[id=q7].value", "ces_scale": "1-5", "ces_values": {"Hard": 1, "Easy": 5}}'


def _mapping_help() -> str:
    return gettext("JSON, field -> path; e.g. %(example)s.") % {"example": MAPPING_EXAMPLE}


class SourceForm(forms.Form):
    """A source's settings. `api_base` / `api_token` are the fetching presets' two auth options,
    given their own inputs and merged into `auth`."""

    vendor = forms.ChoiceField(choices=Vendor.choices, label=_("Survey tool"))
    name = forms.CharField(max_length=120, label=_("Name"), help_text=_("How the source is listed, e.g. “Checkout survey”."))
    slug = forms.SlugField(max_length=60, required=False, label=_("Address"),
                           help_text=_("The last part of the webhook URL (from the name when left empty)."))
    secret = forms.CharField(max_length=255, required=False, label=_("Secret"),
                             help_text=_("Generated when left empty, unless the tool issues it."))
    secret_grace_hours = forms.IntegerField(
        min_value=0, max_value=720, required=False, label=_("Previous secret accepted for (hours)"),
        help_text=_("After the secret is changed, the old one still works this long (time to update the tool)."))
    api_base = forms.URLField(required=False, label=_("API base"), assume_scheme="https",
                              help_text=_("The tool's API address for your data centre (a default is used when empty)."))
    api_token = forms.CharField(max_length=500, required=False, label=_("API token"),
                                help_text=_("The tool's access token or API key, used to fetch responses."))
    auth = JSONObjectField(required=False, label=_("Auth options"),
                           help_text=_("Advanced: JSON, e.g. {\"mode\": \"token\"} (the options are listed below)."))
    mapping = JSONObjectField(required=False, label=_("Mapping"),
                              help_text=lazy(_mapping_help, str)())
    feedback_kind = forms.ChoiceField(
        choices=FeedbackKind.choices, initial=FeedbackKind.SURVEY, label=_("What it sends"), required=False,
        help_text=_("Survey answers need a score. Feedback nobody asked for (reviews, support ratings, chats, "
                    "forms) may be a text alone, and is marked unsolicited on the customer page and in reports."))
    active = forms.BooleanField(required=False, initial=True, label=_("Accept deliveries"))

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)
        if instance is not None:
            self.fields["vendor"].disabled = True
            self.fields["slug"].disabled = True
            self.fields["secret"].help_text = "Leave empty to keep the current secret."

    def clean(self):
        cleaned = super().clean()
        auth = dict(cleaned.get("auth") or {})
        for name in ("api_base", "api_token"):
            if cleaned.get(name):
                auth[name] = cleaned[name]
        cleaned["auth"] = auth
        vendor = cleaned.get("vendor") or (self.instance.vendor if self.instance else "")
        if "mapping" in self.errors or "auth" in self.errors or not vendor:
            return cleaned
        from surveys.presets import preset_for

        if (self.instance is None and preset_for(vendor).secret_from == "tool" and not cleaned.get("secret")):
            self.add_error("secret", _("Paste %(hint)s: this tool issues the secret.") % {"hint": preset_for(vendor).secret_hint})
        problems = source_problems(vendor=vendor, mapping=cleaned.get("mapping") or {}, auth=auth,
                                   slug=cleaned.get("slug") or None,
                                   exclude_pk=self.instance.pk if self.instance else None)
        for field, messages in problems.items():
            for message in messages:
                if field == "auth" and message.split(":", 1)[0] in ("api_base", "api_token"):
                    self.add_error(message.split(":", 1)[0], message)
                else:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned


class PreviewForm(forms.Form):
    """A sample delivery pasted before any exists, and the mapping to try on it."""

    vendor = forms.ChoiceField(choices=Vendor.choices)
    mapping = JSONObjectField(required=False)
    sample = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
                             label=_("Sample delivery"), help_text=_("Paste a body the tool sends (JSON or form-encoded)."))
    feedback_kind = forms.ChoiceField(choices=FeedbackKind.choices, required=False, initial=FeedbackKind.SURVEY,
                                      label=_("What the source sends"))
    content_type = forms.ChoiceField(choices=[("application/json", "JSON"),
                                              ("application/x-www-form-urlencoded", "Form-encoded")],
                                     initial="application/json", required=False)
