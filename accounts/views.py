import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def locked_out(request, credentials=None, *args, **kwargs):
    """django-axes' answer once a user name or address hit LOGIN_FAILURE_LIMIT: 429 with
    Retry-After, without saying whether the user name exists."""
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


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not reachable" to an operator
        return type(exc).__name__
    return None


def _check_broker() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
            conn.default_channel  # noqa: B018  (opens the channel: a real round trip)
    except Exception as exc:
        return type(exc).__name__
    return None


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer; 503 naming the one that did not."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    failed = [name for name, error in checks.items() if error]
    body = {
        "status": "ok" if not failed else "unavailable",
        "checks": {name: ("ok" if error is None else f"unreachable ({error})") for name, error in checks.items()},
    }
    if failed:
        body["failed"] = failed
        logger.warning("health check failed", extra={"failed": failed})
    return JsonResponse(body, status=503 if failed else 200)
