"""Sign-in (the password step; accounts.two_factor has the code step), the landing redirect, the
lockout answer, password reset and invitations (accounts.views.passwords), and the users pages for
CX admins (accounts.views.users)."""

import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from accounts.two_factor.services import second_factor_needed
from accounts.two_factor.session import pending_start

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    """The password step. Someone with an authenticator app (or whose role requires one) is not
    signed in yet: the session keeps a pending sign-in and the code step (or set-up) follows."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        step = second_factor_needed(user)
        if step is None:
            return super().form_valid(form)
        pending_start(self.request, user=user, backend=user.backend, next_url=self.get_redirect_url())
        return redirect("accounts:two_factor_enrol" if step == "enrol" else "accounts:two_factor_code")


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
