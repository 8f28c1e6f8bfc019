"""The profile page (/account/profile/): a person's own language and time zone."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.forms import ProfileForm
from accounts.preferences import TEAM_ZONE_KEY, team_zone
from accounts.services import user_set_preferences
from core.l10n import zone_name


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    zone = team_zone(user)
    request.session[TEAM_ZONE_KEY] = zone
    form = ProfileForm(request.POST or None, team_zone=zone,
                       initial={"language": user.language, "timezone": user.timezone})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user_set_preferences(user=user, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                # Said in the language just chosen (the next page is shown in it).
                with translation.override(user.language or translation.get_language_from_request(request)):
                    messages.success(request, _("Saved: your language and time zone."))
                return redirect("accounts:profile")
        status = 422
    return render(request, "accounts/profile.html", {
        "form": form, "team_zone": zone, "zone": timezone.get_current_timezone_name(),
        "zone_abbreviation": zone_name(timezone.localtime()),
    }, status=status)
