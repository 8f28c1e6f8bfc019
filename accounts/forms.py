"""Forms of the users pages. They only collect input; the rules (unique address, the last CX
admin, nobody locking themselves out) are in accounts.services.users, which the API uses too."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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


class TokenForm(forms.Form):
    """A new API token (accounts.services.tokens makes it)."""

    EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]

    name = forms.CharField(max_length=100, help_text="Where it is used, e.g. “CRM sync”: you see it in the list.")
    expires_in_days = forms.TypedChoiceField(label="Expires after", choices=EXPIRY_CHOICES, initial="90",
                                             coerce=int, empty_value=None, required=False)
    read_only = forms.BooleanField(label="Read-only (GET requests only)", required=False)
    scope = forms.ChoiceField(
        label=_("Use"), required=False, initial="api",
        choices=[("api", _("REST API (/api/v1/)")), ("scim", _("SCIM provisioning (/scim/v2/): for the identity provider"))],
        help_text=_("A SCIM token works only at /scim/v2/, as a bearer token; a REST API token does not work there."))

    def __init__(self, *args, may_provision: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_provision:
            del self.fields["scope"]  # only CX admins make SCIM provisioning tokens

    def clean_scope(self):
        return self.cleaned_data.get("scope") or "api"
