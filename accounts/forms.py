"""Forms of the users pages. They only collect input; the rules (unique address, the last CX
admin, nobody locking themselves out) are in accounts.services.users, which the API uses too."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, Team
from accounts.preferences import zone_names


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254,
                             help_text=_("The invitation goes here; it is also used for password resets."))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    username = forms.CharField(label=_("User name"), max_length=150, required=False,
                               help_text=_("What they type to sign in. Blank: their e-mail address."))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AGENT,
                             help_text=_("Frontline agents work cases; managers also see dashboards and "
                                       "reports; CX admins also change settings and invite people."))
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.order_by("name"), required=False,
                                           widget=forms.CheckboxSelectMultiple,
                                           help_text=_("They see these teams' cases. Managers become team managers."))


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TokenForm(forms.Form):
    """A new API token (accounts.services.tokens makes it)."""

    EXPIRY_CHOICES = [("30", _("30 days")), ("90", _("90 days")), ("365", _("1 year")), ("", _("Never"))]

    name = forms.CharField(max_length=100, help_text=_("Where it is used, e.g. “CRM sync”: you see it in the list."))
    expires_in_days = forms.TypedChoiceField(label=_("Expires after"), choices=EXPIRY_CHOICES, initial="90",
                                             coerce=int, empty_value=None, required=False)
    read_only = forms.BooleanField(label=_("Read-only (GET requests only)"), required=False)
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


class ProfileForm(forms.Form):
    """A person's own language and time zone (accounts.services.preferences saves them)."""

    language = forms.ChoiceField(label=_("Language"), required=False,
                                 help_text=_("Blank: the language your browser asks for."))
    timezone = forms.ChoiceField(label=_("Time zone"), required=False,
                                 help_text=_("Dates and times are shown in this zone. Blank: your team's zone. "
                                             "SLA clocks still run in each team's business hours."))

    def __init__(self, *args, team_zone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("The browser's language"))] + list(settings.LANGUAGES)
        default = _("My team's zone (%(zone)s)") % {"zone": team_zone or settings.TIME_ZONE}
        self.fields["timezone"].choices = [("", default)] + [(name, name) for name in zone_names()]
