"""The segment editor: the name and how conditions combine, and one row per condition (field,
attribute key for "another attribute", operator, value). Blank rows are ignored; the rows become
the JSON list segments.conditions checks, so the page refuses what the API refuses."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from segments.conditions import ATTRIBUTE_PREFIX, FIELDS, MAX_CONDITIONS, OPERATORS, condition_problems
from segments.models import Segment

OTHER_ATTRIBUTE = "attribute"
FIELD_CHOICES = [("", _("—"))] + [(name, spec.label) for name, spec in FIELDS.items()] + [
    (OTHER_ATTRIBUTE, _("Another attribute (key below)"))]
OPERATOR_CHOICES = [(name, label) for name, label in OPERATORS.items()]
BLANK_ROWS = 3


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "slug", "description", "match"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"slug": _("Used in links and the API; made from the name when left blank.")}
        labels = {"match": _("Customers are in the segment when")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False


class ConditionForm(forms.Form):
    field = forms.ChoiceField(choices=FIELD_CHOICES, required=False, label=_("Field"))
    key = forms.CharField(required=False, max_length=100, label=_("Attribute key"),
                          help_text=_("For “another attribute”: the key as the source sends it."))
    operator = forms.ChoiceField(choices=OPERATOR_CHOICES, required=False, label=_("Operator"))
    value = forms.CharField(required=False, max_length=2000, label=_("Value"),
                            help_text=_("For “is one of”, separate values with commas; “is set” takes none."))

    def condition(self) -> dict | None:
        """The row as a condition, None for a blank row."""
        data = self.cleaned_data
        name = data.get("field") or ""
        if not name:
            return None
        if name == OTHER_ATTRIBUTE:
            name = ATTRIBUTE_PREFIX + (data.get("key") or "").strip()
        operator = data.get("operator") or ""
        raw = (data.get("value") or "").strip()
        if operator == "one_of":
            value = [part.strip() for part in raw.split(",") if part.strip()]
        elif operator == "is_set":
            value = None
        else:
            value = raw
        return {"field": name, "operator": operator, "value": value}

    @staticmethod
    def initial_for(condition: dict) -> dict:
        name = condition["field"]
        choice = next((alias for alias, spec in FIELDS.items() if spec.name == name), None)
        value = condition.get("value")
        return {
            "field": choice or OTHER_ATTRIBUTE,
            "key": "" if choice else name[len(ATTRIBUTE_PREFIX):],
            "operator": condition["operator"],
            "value": ", ".join(value) if isinstance(value, list) else ("" if value is None else value),
        }


ConditionFormSet = forms.formset_factory(ConditionForm, extra=BLANK_ROWS, max_num=MAX_CONDITIONS,
                                         validate_max=True, absolute_max=MAX_CONDITIONS + BLANK_ROWS)


def condition_formset(data=None, segment: Segment | None = None):
    initial = [ConditionForm.initial_for(c) for c in segment.conditions] if segment and segment.pk else None
    return ConditionFormSet(data, initial=initial, prefix="conditions")


def conditions_from(formset) -> tuple[list[dict], list[str]]:
    """The rows as conditions, and what is wrong with them (condition_problems' words)."""
    conditions = [c for c in (form.condition() for form in formset.forms if form.is_valid()) if c is not None]
    return conditions, condition_problems(conditions)
