from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Team, User, visible_team_ids
from cases.models import RootCause
from improvement.models import ActionPlan
from improvement.services import PlanInput
from surveys.models import Theme


class PlanForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("What will change"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False,
                                  empty_label=_("Whole organisation"))
    status = forms.ChoiceField(label=_("Status"), choices=ActionPlan.Status.choices, initial=ActionPlan.Status.PLANNED)
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))
    change_date = forms.DateField(label=_("Change live on"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text=_("Scores before and after this day are compared. Blank: the due date."))
    root_causes = forms.ModelMultipleChoiceField(label=_("Root causes"), queryset=RootCause.objects.none(),
                                                 required=False, widget=forms.CheckboxSelectMultiple)
    themes = forms.ModelMultipleChoiceField(label=_("Themes"), queryset=Theme.objects.none(), required=False,
                                            widget=forms.CheckboxSelectMultiple)
    touchpoints = forms.CharField(label=_("Touchpoints"), required=False,
                                  help_text=_("Comma-separated, as the responses name them (e.g. delivery, returns)."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("first_name", "username")
        self.fields["owner"].label_from_instance = lambda u: u.display_name
        teams = visible_team_ids(user)
        self.fields["team"].queryset = Team.objects.all() if teams is None else Team.objects.filter(pk__in=teams)
        self.fields["root_causes"].queryset = RootCause.objects.filter(active=True).select_related("category")
        self.fields["root_causes"].label_from_instance = lambda c: f"{c.category.name} › {c.name}"
        self.fields["themes"].queryset = Theme.objects.filter(status=Theme.Status.ACTIVE).order_by("name")

    def clean(self):
        data = super().clean()
        due, change = data.get("due_date"), data.get("change_date")
        if due and change and abs((change - due).days) > 3650:
            self.add_error("change_date", _("The change date is more than ten years from the due date."))
        return data

    def to_input(self) -> PlanInput:
        d = self.cleaned_data
        return PlanInput(
            title=d["title"], description=d["description"], owner_id=d["owner"].pk,
            team_id=d["team"].pk if d["team"] else None, status=d["status"], due_date=d["due_date"],
            change_date=d["change_date"], root_cause_ids=tuple(c.pk for c in d["root_causes"]),
            theme_ids=tuple(t.pk for t in d["themes"]),
            touchpoints=tuple(t.strip() for t in d["touchpoints"].split(",") if t.strip()),
        )

    @classmethod
    def initial_for(cls, plan: ActionPlan) -> dict:
        return {"title": plan.title, "description": plan.description, "owner": plan.owner_id, "team": plan.team_id,
                "status": plan.status, "due_date": plan.due_date, "change_date": plan.change_date,
                "root_causes": list(plan.root_causes.values_list("pk", flat=True)),
                "themes": list(plan.themes.values_list("pk", flat=True)), "touchpoints": ", ".join(plan.touchpoints)}


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class LinkCasesForm(forms.Form):
    references = forms.CharField(label=_("Case references"), help_text=_("Comma-separated, e.g. CL-000123."))
