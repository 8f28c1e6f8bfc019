"""Sign-in, the landing redirect, the lockout answer, password reset and invitations
(accounts.views.passwords), and the users pages for CX admins (accounts.views.users)."""

import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def locked_out(request, credentials=None, *args, **kwargs):
    """django-axes' answer once a user name or address hit LOGIN_FAILURE_LIMIT: 429 with
    Retry-After, without saying whether the user name exists, and what the person can do:
    wait, or reset the password by e-mail (which lifts the lock on their user name)."""
    from django.conf import settings

    retry_after = int(settings.AXES_COOLOFF_TIME * 3600)
    response = render(
        request, "registration/locked_out.html", {"minutes": max(1, retry_after // 60)}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response


@login_required
def home(request):
    """Managers land on the overdue dashboard, everyone else in their inbox."""
    for name in (["reporting:dashboard"] if request.user.is_manager_role else []) + ["cases:inbox"]:
        try:
            return redirect(reverse(name))
        except NoReverseMatch:
            continue
    return render(request, "home.html")
