"""Pages: the public recovery-check page (/r/<token>/, no sign-in) and the recognition feed."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from accounts.backends import client_ip
from followup import services
from followup.filtersets import RecognitionFilterSet
from followup.models import Verification
from followup.selectors import recognition_list_for_user

logger = logging.getLogger(__name__)

# Requests to the public page, per client address and per link (django-ratelimit, counted in the
# shared Redis cache). Generous for a person (one visit, one answer), tight for a script.
RATE_PER_IP = "30/m"
RATE_PER_TOKEN = "10/m"


def _rate_limited(request: HttpRequest, token: str) -> bool:
    """Over either limit? Fails open when the cache is unreachable: the answer is stored in
    PostgreSQL and one answer per check is enforced there, the limit only sheds floods."""
    from django.conf import settings

    checks = [
        ("followup.verify.ip", lambda group, req: client_ip(req),
         getattr(settings, "VERIFICATION_RATE_PER_IP", RATE_PER_IP)),
        ("followup.verify.token", lambda group, req: token[-40:],
         getattr(settings, "VERIFICATION_RATE_PER_TOKEN", RATE_PER_TOKEN)),
    ]
    try:
        limited = [is_ratelimited(request, group=group, key=key, rate=rate, increment=True)
                   for group, key, rate in checks]
    except Exception as exc:  # noqa: BLE001 - Redis down: no limit rather than no page
        logger.warning("recovery page rate limit unavailable: %s", exc)
        return False
    return any(limited)


def _message(request, *, title: str, text: str, status: int, verification=None, **extra) -> HttpResponse:
    response = render(request, "followup/verify_message.html",
                      {"title": title, "text": text, "verification": verification, **extra}, status=status)
    return response


def _expired(request) -> HttpResponse:
    return _message(request, title=_("This link has expired"),
                    text=_("Links to this question work for a limited time, and this one has run out. "
                           "Thank you all the same: if something is still wrong, reply to our last e-mail "
                           "or contact us as usual."), status=400)


def _invalid(request) -> HttpResponse:
    return _message(request, title=_("This link does not work"),
                    text=_("The link may have been cut short or changed. Open it again from the e-mail "
                           "we sent you, copying the whole address."), status=400)


def _answered(request, verification: Verification, *, again: bool) -> HttpResponse:
    if again:
        return _message(request, title=_("You already answered"), status=409, verification=verification,
                        text=_("We had already recorded your answer to this question, so nothing was changed."))
    text = (_("We recorded your answer.") if verification.recovered else
            _("We recorded your answer. We are sorry it is not right yet: the team will be in touch."))
    return _message(request, title=_("Thank you"), status=200, verification=verification, text=text)


def _page_language(token: str) -> str | None:
    """The customer's language for the page (followup.services.verification_language); None for a
    link that names no check (the browser's language is used then)."""
    try:
        return services.verification_language(services.read_token(token))
    except (services.LinkExpired, services.LinkInvalid):
        return None


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """"Did we put it right?": one answer per check, from the signed link in the e-mail, in the
    customer's language (their response's, else their team's default)."""
    language = _page_language(token) or translation.get_language()
    with translation.override(language):
        response = _verify(request, token)
    response.headers["Content-Language"] = language
    return response


def _verify(request: HttpRequest, token: str) -> HttpResponse:
    if _rate_limited(request, token):
        response = _message(request, title=_("Too many attempts"),
                            text=_("Please wait a minute and try again."), status=429)
        response["Retry-After"] = "60"
        return response
    try:
        verification_id = services.read_token(token)
        verification = services.verification_for_answer(verification_id=verification_id)
    except services.LinkExpired:
        return _expired(request)
    except services.LinkInvalid:
        return _invalid(request)
    except services.AlreadyAnswered as exc:
        return _answered(request, exc.verification, again=request.method == "POST")
    context = {"verification": verification, "token": token, "errors": {}, "scale": range(11),
               "topic": verification.touchpoint.replace("_", " "),
               "opted_out": bool(verification.customer_id and verification.customer.contact_opt_out)}
    if request.method == "GET":
        return render(request, "followup/verify.html", context)

    value = request.POST.get("answer", "")
    opt_out = request.POST.get("opt_out") == "1"
    comment = request.POST.get("comment", "")
    try:
        answered = services.verification_answer(verification_id=verification.pk, value=value or None,
                                                comment=comment, opt_out=opt_out)
    except services.AlreadyAnswered as exc:
        return _answered(request, exc.verification, again=True)
    except services.LinkExpired:
        return _expired(request)
    except services.LinkInvalid:
        return _invalid(request)
    except ValidationError as exc:
        context.update(errors=exc.message_dict, chosen=value, comment=comment, opt_out=opt_out)
        return render(request, "followup/verify.html", context, status=400)
    if answered.status == Verification.Status.ANSWERED:
        return redirect("followup:verify", token=token)  # 302 to the page, which thanks them
    return _message(request, title=_("You will not be asked again"), status=200,
                    text=_("We will not send you questions like this any more. You can still answer this one "
                           "if you like."), back=True, token=token)


@login_required
@require_GET
def recognition_list(request: HttpRequest) -> HttpResponse:
    """The recognition feed: customers' praise naming staff or locations, for the teams you see."""
    filterset = RecognitionFilterSet(request.GET or None, queryset=recognition_list_for_user(request.user),
                                     request=request)
    status = 200
    if filterset.is_bound and not filterset.is_valid():
        status = 400
        queryset = filterset.queryset.none()
    else:
        queryset = filterset.qs
    page = Paginator(queryset, 25).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    locations = sorted(set(
        recognition_list_for_user(request.user).exclude(location="").order_by().values_list("location", flat=True)
        .distinct()[:500]
    ))
    return render(request, "followup/recognition_list.html", {
        "filterset": filterset, "page": page, "querystring": params.urlencode(), "locations": locations,
    }, status=status)
