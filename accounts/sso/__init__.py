"""OpenID Connect single sign-on, on mozilla-django-oidc.

- config.py: the OIDC_* settings as one frozen SsoConfig (enabled only when OIDC_RP_CLIENT_ID is set);
- mapping.py: pure functions from the provider's claims to a SignIn (who, which groups) and from
  groups to a role and team memberships;
- services.py: sso_sign_in, the one write: find (by issuer + `sub`, then by verified e-mail) or
  create the user, refuse a deactivated one, apply role and teams;
- backend.py: the library's backend, checking issuer and audience, merging ID-token and userinfo
  claims, and handing the claims to sso_sign_in;
- views.py / urls.py: /oidc/authenticate/ and /oidc/callback/ (state, nonce and PKCE are the
  library's); every refusal is a page with a 4xx status saying what happened.
"""
