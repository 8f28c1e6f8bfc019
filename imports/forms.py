"""The upload page's form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from imports.registry import importers


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(label=_("CSV file"), help_text=_(
        "UTF-8 (with or without BOM), UTF-16 or Latin-1; comma, semicolon, tab or pipe between the columns; "
        "the first row names the columns."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(i.kind, i.label) for i in importers()]
