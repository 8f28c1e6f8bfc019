"""The provider's endpoints: as configured (OIDC_OP_*_ENDPOINT), or read from its discovery
document (`OIDC_OP_ISSUER` + /.well-known/openid-configuration, OpenID Connect Discovery 1.0) when
only the issuer is given. The document is fetched at the first sign-in and kept in the process for
DISCOVERY_TTL seconds; it must name the configured issuer as its own."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from django.conf import settings

DISCOVERY_TTL = 3600
_cache: dict[str, tuple[float, Endpoints]] = {}


class DiscoveryFailed(Exception):
    """The discovery document could not be had or does not describe the configured issuer."""


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    userinfo: str
    jwks: str


def _configured() -> Endpoints:
    return Endpoints(settings.OIDC_OP_AUTHORIZATION_ENDPOINT, settings.OIDC_OP_TOKEN_ENDPOINT,
                     settings.OIDC_OP_USER_ENDPOINT, settings.OIDC_OP_JWKS_ENDPOINT)


def endpoints() -> Endpoints:
    configured = _configured()
    if all((configured.authorization, configured.token, configured.userinfo, configured.jwks)):
        return configured
    issuer = settings.OIDC_OP_ISSUER
    cached = _cache.get(issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_TTL:
        return cached[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        answer = requests.get(url, timeout=settings.OIDC_TIMEOUT, allow_redirects=False)
        answer.raise_for_status()
        document = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise DiscoveryFailed(f"{url}: {exc.__class__.__name__}") from None
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise DiscoveryFailed(f"{url} describes another issuer")
    try:
        found = Endpoints(
            configured.authorization or document["authorization_endpoint"],
            configured.token or document["token_endpoint"],
            configured.userinfo or document["userinfo_endpoint"],
            configured.jwks or document["jwks_uri"],
        )
    except KeyError as missing:
        raise DiscoveryFailed(f"{url} names no {missing.args[0]}") from None
    _cache[issuer] = (time.monotonic(), found)
    return found
