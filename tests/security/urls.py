"""Every route the URL resolver knows, with sample arguments: new routes are covered by the
CSRF and access-control tests without anyone listing them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

SAMPLE = {"int": "1", "str": "sample", "slug": "sample", "uuid": "00000000-0000-0000-0000-000000000001", "path": "sample"}


@dataclass
class Route:
    path: str  # with <converter:name> placeholders
    name: str | None
    callback: object

    def url(self, **values) -> str:
        def fill(match):
            converter, name = match.group(1) or "str", match.group(2)
            return str(values.get(name, SAMPLE.get(converter, "1")))

        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, self.path)

    @property
    def is_webhook(self) -> bool:
        # Survey tools' deliveries, and mail providers' inbound e-mail (cases/mail/doors.py).
        return self.path.startswith(("webhooks/", "mail/inbound/"))

    @property
    def is_token_only(self) -> bool:
        """Answered only for a credential in a header, never a session cookie: the signed webhooks
        and SCIM provisioning (a bearer token; tests/accounts/test_scim.py), and the mail providers'
        signed inbound e-mail (cases/mail/doors.py). CSRF-exempt."""
        return self.path.startswith(("webhooks/", "scim/", "mail/inbound/"))


def _regex_to_route(regex: str) -> str:
    text = regex.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)
    return text.replace("(?:", "").replace(")?", "").replace(")", "")


def all_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns, prefix: str):
        for pattern in patterns:
            raw = pattern.pattern
            part = str(raw) if isinstance(raw, RoutePattern) else _regex_to_route(raw.regex.pattern) if isinstance(raw, RegexPattern) else str(raw)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + part)
            elif isinstance(pattern, URLPattern):
                routes.append(Route(prefix + part, pattern.name, pattern.callback))

    walk(get_resolver().url_patterns, "")
    return routes
