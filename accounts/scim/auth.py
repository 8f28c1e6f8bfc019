"""Who may call /scim/v2/: the bearer of a SCIM-scoped API token whose owner is an active CX admin.

The token is one of the project's API tokens (accounts.services.tokens: SHA-256 at rest, shown
once, expiry, revocable), made with `manage.py create_api_token <admin> --scim` or
POST /api/v1/tokens/ {"scope": "scim"}. A REST API token is refused here and a SCIM token on the
REST API. A browser session never authenticates SCIM (its views are CSRF-exempt for the
provisioning client, so a cookie must not be enough).

django-scim2 wraps its views' dispatch in AUTH_CHECK_MIDDLEWARE (config/settings/identity.py names this
class); process_request answers 401/403 with a SCIM error document, or sets request.user.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django_scim import constants
from django_scim.middleware import SCIMAuthCheckMiddleware

from accounts.models import ApiToken
from accounts.services.tokens import TokenRefused, token_authenticate

WWW_AUTHENTICATE = 'Bearer realm="closeloop-scim"'


def scim_error_response(detail: str, status: int) -> HttpResponse:
    body = {"schemas": [constants.SchemaURI.ERROR], "detail": detail, "status": str(status)}
    response = HttpResponse(json.dumps(body), content_type=constants.SCIM_CONTENT_TYPE, status=status)
    if status == 401:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


class ScimTokenAuthentication(SCIMAuthCheckMiddleware):
    def process_request(self, request):
        scheme, _, key = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return scim_error_response(
                "Send a SCIM provisioning token as 'Authorization: Bearer <token>' "
                "(manage.py create_api_token <admin> --scim makes one).", 401)
        try:
            token = token_authenticate(key.strip(), scope=ApiToken.Scope.SCIM)
        except TokenRefused as refused:
            return scim_error_response(refused.message, 401)
        if not token.user.is_admin_role:
            return scim_error_response(
                f"The owner of the token “{token.name}” is no longer a CX admin: make a new SCIM token as a CX admin.",
                403)
        request.user = token.user
        return None
