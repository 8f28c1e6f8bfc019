"""Forms of the users pages. They only collect input; the rules (unique address, the last CX
admin, nobody locking themselves out) are in accounts.services.users, which the API uses too."""

from __future__ import annotations

from django import forms

from accounts.models import Role, Team


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254,
                             help_text="The invitation goes here; it is also used for password resets.")
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    username = forms.CharField(label="User name", max_length=150, required=False,
                               help_text="What they type to sign in. Blank: their e-mail address.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AGENT,
                             help_text="Frontline agents work cases; managers also see dashboards and "
                                       "reports; CX admins also change settings and invite people.")
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.order_by("name"), required=False,
                                           widget=forms.CheckboxSelectMultiple,
                                           help_text="They see these teams' cases. Managers become team managers.")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
