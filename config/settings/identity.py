"""Sign-in settings: lockout (django-axes), two-factor sign-in, single sign-on (OIDC), SCIM provisioning."""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.env import env, envbool, envint, envmap
from config.settings.basics import SITE_URL, TESTING

# --- Login throttling and lockout (django-axes, counted in the shared Redis cache) -------------
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ThrottledAuthenticationBackend",
    # Django's ModelBackend, the signed-in user read by a compiled statement (sessions that name
    # Django's path are read as naming this one: accounts.sessions).
    "accounts.backends.ModelBackend",
    # OpenID Connect single sign-on (accounts.sso): answers only the /oidc/callback/ view, and only
    # when OIDC_RP_CLIENT_ID is set; it refuses inactive users when a session is loaded.
    "accounts.sso.backend.OidcBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
# A user name is locked after that many failures from anywhere (password guessing against one
# account), and so is an address trying many user names (credential stuffing).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = envint("LOGIN_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "accounts.backends.client_ip"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password"]
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True

# --- Two-factor sign-in (accounts.two_factor, django-otp) ------------------------------------
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = env("TWO_FACTOR_ISSUER", "Closeloop")
# The Django admin lists devices without their keys.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# After each wrong code, no code is checked for 1, 2, 4, 8, ... seconds (per device).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# How long a sign-in waits between the password and the code before starting over.
TWO_FACTOR_PENDING_SECONDS = envint("TWO_FACTOR_PENDING_SECONDS", 600)
# How often a process re-reads the per-role policy's version (core.process_cache).
TWO_FACTOR_POLICY_CHECK_SECONDS = envint("TWO_FACTOR_POLICY_CHECK_SECONDS", 0 if TESTING else 2)
# Sessions signed in through these authentication backends (a dotted path, or a prefix ending in
# ".") came through single sign-on: the identity provider owns the second factor, no code is asked.
TWO_FACTOR_SSO_BACKENDS = ["accounts.sso.", "mozilla_django_oidc."]
# --- Single sign-on: OpenID Connect (mozilla-django-oidc; accounts.sso, docs/users.md) ----------
# Off unless OIDC_RP_CLIENT_ID is set; then the sign-in page offers "Sign in with OIDC_PROVIDER_NAME".
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET")
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER").rstrip("/")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", "openid email profile")
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_CLAIM_USERNAME = env("OIDC_CLAIM_USERNAME", "preferred_username")
OIDC_CLAIM_EMAIL = env("OIDC_CLAIM_EMAIL", "email")
OIDC_CLAIM_GROUPS = env("OIDC_CLAIM_GROUPS", "groups")
# Link a first sign-in to an existing user by e-mail only when the provider says it verified it.
OIDC_REQUIRE_VERIFIED_EMAIL = envbool("OIDC_REQUIRE_VERIFIED_EMAIL", True)
OIDC_CREATE_USERS = envbool("OIDC_CREATE_USERS", True)
# Group -> role and group -> team slugs, applied at every sign-in (accounts.sso.mapping).
OIDC_ROLE_MAP = envmap("OIDC_ROLE_MAP")
OIDC_TEAM_MAP = envmap("OIDC_TEAM_MAP")
# The role of someone in none of OIDC_ROLE_MAP's groups; empty: they may not sign in.
OIDC_DEFAULT_ROLE = env("OIDC_DEFAULT_ROLE", "agent").strip()
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TIMEOUT = envint("OIDC_TIMEOUT", 10)
OIDC_STORE_ACCESS_TOKEN = False
OIDC_STORE_ID_TOKEN = False
# The endpoints may be left out when OIDC_OP_ISSUER is set: they are read from the provider's
# discovery document (accounts.sso.discovery).
_OIDC_REQUIRED = ["OIDC_RP_CLIENT_SECRET"] + ([] if OIDC_OP_ISSUER else [
    "OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT"])
if OIDC_RP_CLIENT_ID and (missing := [name for name in _OIDC_REQUIRED if not globals()[name]]):
    raise ImproperlyConfigured(f"OIDC_RP_CLIENT_ID is set, so single sign-on is on: set {', '.join(missing)} too "
                               "(or OIDC_OP_ISSUER for the endpoints; docs/configuration.md, Single sign-on).")

# --- SCIM 2.0 provisioning (django-scim2; accounts.scim, docs/users.md) --------------------------
# Always on at /scim/v2/; it answers only a CX admin's SCIM-scoped token (accounts.scim.auth).
SCIM_SERVICE_PROVIDER = {
    "NETLOC": urlsplit(SITE_URL).netloc,
    "SCHEME": urlsplit(SITE_URL).scheme or "https",
    "AUTHENTICATION_SCHEMES": [{
        "type": "oauthbearertoken",
        "name": "Bearer token",
        "description": "A SCIM provisioning token: manage.py create_api_token <admin> --scim",
        "primary": True,
    }],
    "USER_ADAPTER": "accounts.scim.adapters.ScimUser",
    "GROUP_ADAPTER": "accounts.scim.adapters.ScimTeam",
    "GROUP_MODEL": "accounts.models.Team",
    "USER_FILTER_PARSER": "accounts.scim.filters.UserFilter",
    "GROUP_FILTER_PARSER": "accounts.scim.filters.TeamFilter",
    "SERVICE_PROVIDER_CONFIG_MODEL": "accounts.scim.adapters.ServiceProviderConfig",
    "AUTH_CHECK_MIDDLEWARE": "accounts.scim.auth.ScimTokenAuthentication",
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="closeloop-scim"',
}

