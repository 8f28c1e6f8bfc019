"""The REST API's token authentication: `Authorization: Token cl_…` (accounts.services.tokens).

- no Authorization header: not this class's business (the session may still authenticate);
- a wrong, revoked or expired key: 401 with a sentence saying which, and WWW-Authenticate: Token;
- a read-only token on POST, PUT, PATCH or DELETE: 403 saying the token is read-only. The check
  lives here rather than in a permission class because every view has its own permission classes
  and this one rule holds for all of them.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS

from accounts.services.tokens import TokenRefused, token_authenticate

KEYWORD = "Token"


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Authorization: Token <key>', one key, no spaces.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        try:
            token = token_authenticate(key)
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(refused.message) from None
        if token.read_only and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(
                f"The token “{token.name}” is read-only: it may read (GET) but not change anything. "
                "Use a token without the read-only option for this request.")
        return token.user, token

    def authenticate_header(self, request):
        return KEYWORD


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How /api/schema/ describes the token (drf-spectacular cannot guess a custom class)."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <key>`: a key from the API tokens page or POST /api/v1/tokens/."}
