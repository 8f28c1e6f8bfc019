"""mozilla-django-oidc's authentication backend, fitted to Closeloop.

The library exchanges the code (with the PKCE verifier), checks the ID token's signature against
the provider's keys and its nonce against the one this browser's session holds. On top of that:
- the endpoints may come from the provider's discovery document (accounts.sso.discovery);
- the ID token's issuer must be OIDC_OP_ISSUER (when set) and its audience must include our client
  id (the library leaves the audience unchecked);
- the claims are the ID token's merged with the userinfo endpoint's (Entra puts groups in the ID
  token only), and both must be about the same `sub`;
- the user comes from accounts.sso.services.sso_sign_in (link by `sub`, role and team mapping);
- a session is loaded for active users only, so deactivating someone signs them out at once.
"""

from __future__ import annotations

from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.sso.config import sso_config
from accounts.sso.discovery import endpoints
from accounts.sso.mapping import sign_in_from_claims
from accounts.sso.services import sso_sign_in


class OidcBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        # Only the callback view passes `nonce`; a password sign-in never reaches the provider.
        if request is None or "nonce" not in kwargs or not sso_config().enabled:
            return None
        found = endpoints()  # DiscoveryFailed: the callback view answers 502
        self.OIDC_OP_TOKEN_ENDPOINT, self.OIDC_OP_USER_ENDPOINT = found.token, found.userinfo
        self.OIDC_OP_JWKS_ENDPOINT = found.jwks
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token (a signed userinfo answer carries no nonce)
            config = sso_config()
            if config.issuer and str(payload.get("iss") or "").rstrip("/") != config.issuer:
                raise SuspiciousOperation(f"The ID token was issued by {payload.get('iss')!r}, "
                                          f"not by the configured OIDC_OP_ISSUER {config.issuer!r}.")
            audience = payload.get("aud")
            audiences = [audience] if isinstance(audience, str) else list(audience or [])
            if config.client_id not in audiences:
                raise SuspiciousOperation("The ID token was issued to another client (its audience is not ours).")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict):
            raise SuspiciousOperation("The userinfo endpoint did not answer with a JSON object.")
        if userinfo.get("sub") is not None and userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo endpoint answered about another account than the ID token.")
        return {**payload, **userinfo}

    def get_or_create_user(self, access_token, id_token, payload):
        config = sso_config()
        claims = self.get_userinfo(access_token, id_token, payload)
        sign_in = sign_in_from_claims(claims, issuer=config.issuer or str(payload.get("iss") or ""), config=config)
        return sso_sign_in(sign_in=sign_in, config=config)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
