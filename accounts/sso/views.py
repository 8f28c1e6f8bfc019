"""/oidc/authenticate/ sends the browser to the provider; /oidc/callback/ is where it comes back.

mozilla-django-oidc's views do the protocol (state, nonce and PKCE verifier kept in the session,
checked on the way back). These subclasses answer 404 while single sign-on is off, and turn every
way a sign-in can fail into a page that says what happened and what to do, with a 4xx status
(a 502 only when the provider itself cannot be reached) — never a 500:
- an unknown or reused `state`, a wrong nonce, a token that does not verify: 400;
- a code the provider refuses (expired, used, or not for this browser's PKCE verifier): 400;
- the provider reports an error (the person cancelled, or has no access there): 403;
- Closeloop refuses the person (deactivated, no mapped group, unverified address): 403 or 409.
"""

from __future__ import annotations

import logging

import jwt
import requests
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.sso.config import sso_config
from accounts.sso.discovery import DiscoveryFailed, endpoints
from accounts.sso.mapping import SsoRefused

logger = logging.getLogger(__name__)


def sso_failed(request, message: str, status: int) -> HttpResponse:
    response = render(request, "registration/sso_failed.html",
                      {"message": message, "provider_name": sso_config().provider_name}, status=status)
    response["Cache-Control"] = "no-store"
    return response


class SsoStartView(OIDCAuthenticationRequestView):
    def get(self, request):
        config = sso_config()
        if not config.enabled:
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = endpoints().authorization
        except DiscoveryFailed as exc:
            logger.warning("sso: discovery failed: %s", exc)
            return sso_failed(request, _("%(provider)s could not be reached. Try again in a minute.")
                              % {"provider": config.provider_name}, 502)
        return super().get(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    def get(self, request):
        config = sso_config()
        if not config.enabled:
            raise Http404("Single sign-on is not configured.")
        if request.GET.get("error"):
            super().get(request)  # forgets the state and signs out, as the library does
            logger.info("sso: the provider answered error %r", request.GET.get("error")[:64])
            return sso_failed(request, _("%(provider)s did not sign you in (%(error)s). Try again, or ask your "
                                         "administrator whether you have access to Closeloop.")
                              % {"provider": config.provider_name, "error": request.GET.get("error")[:64]}, 403)
        state = request.GET.get("state")
        if not request.GET.get("code") or not state:
            return sso_failed(request, _("This address is where %(provider)s sends you back after signing in; "
                                         "it was opened without a sign-in. Start again from the sign-in page.")
                              % {"provider": config.provider_name}, 400)
        if state not in (request.session.get("oidc_states") or {}):
            return sso_failed(request, _("This sign-in was not started in this browser, or it was already used "
                                         "(unknown state). Start again from the sign-in page."), 400)
        try:
            return super().get(request)
        except SsoRefused as refused:
            return sso_failed(request, refused.message, refused.status)
        except (SuspiciousOperation, jwt.PyJWTError) as exc:
            logger.warning("sso: sign-in refused: %s", exc)
            return sso_failed(request, _("The answer from %(provider)s did not pass the checks (%(reason)s). "
                                         "Start again from the sign-in page.")
                              % {"provider": config.provider_name, "reason": str(exc)[:200]}, 400)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            logger.warning("sso: the provider answered %s", status)
            if 400 <= status < 500:
                return sso_failed(request, _("%(provider)s did not accept this sign-in code (it expired, was "
                                             "used already, or belongs to another sign-in). Start again from "
                                             "the sign-in page.") % {"provider": config.provider_name}, 400)
            return sso_failed(request, _("%(provider)s answered with an error (%(status)s). Try again in a "
                                         "minute.") % {"provider": config.provider_name, "status": status}, 502)
        except (requests.RequestException, ValueError, DiscoveryFailed) as exc:
            logger.warning("sso: the provider could not be reached: %s", exc.__class__.__name__)
            return sso_failed(request, _("%(provider)s could not be reached. Try again in a minute.")
                              % {"provider": config.provider_name}, 502)

    def login_failure(self):
        return sso_failed(self.request, _("Single sign-on did not complete. Start again from the sign-in page."),
                          400)
