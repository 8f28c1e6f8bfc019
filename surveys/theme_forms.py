"""The theme editor's forms. Validation is surveys.services.theme_problems (shared with the API);
saving goes through the theme services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from surveys.models import Theme
from surveys.services import theme_problems
from surveys.text import clean_keywords


class KeywordsField(forms.CharField):
    """Keywords and phrases, one per line (commas also separate)."""

    widget = forms.Textarea(attrs={"rows": 6})

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return clean_keywords(text.replace(",", "\n").splitlines())


class ThemeForm(forms.Form):
    name = forms.CharField(max_length=120, help_text=_("What people will see in reports, e.g. “Delivery delays”."),
                           error_messages={"required": _("Give the theme a name, e.g. “Delivery delays”.")})
    keywords = KeywordsField(
        label=_("Keywords and phrases"), required=False,
        help_text=_("One per line. A comment containing any of them is about this theme; whole words, "
                  "ignoring case and accents (“cafe” finds “Café”)."),
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, theme: Theme | None = None, **kwargs):
        self.theme = theme
        if theme is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": theme.name, "keywords": theme.keywords, "description": theme.description}
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        status = self.theme.status if self.theme is not None else Theme.Status.ACTIVE
        problems = theme_problems(name=cleaned.get("name", ""), keywords=cleaned.get("keywords") or [],
                                  status=status, exclude_pk=self.theme.pk if self.theme else None)
        for field, messages in problems.items():
            if field in self.errors:
                continue
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


class DecisionForm(forms.Form):
    """Accepting a proposal may rename it."""

    name = forms.CharField(max_length=120, required=False)
