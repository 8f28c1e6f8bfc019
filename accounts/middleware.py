"""Activates a signed-in person's own language and time zone for their request (accounts.preferences).

Runs after AuthenticationMiddleware. LocaleMiddleware (before it) has already chosen the language
from the browser; a language the person chose on their profile page replaces it. Anonymous pages
(sign-in, the customer's "Did we put it right?" page) keep the browser's language and the server's
zone; customer e-mails choose the customer's language themselves (cases.customer_language)."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.utils import timezone, translation

from accounts.preferences import viewer_zone


class PreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # No session cookie: nobody is signed in, and request.user need not be loaded at all.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            user = request.user
            if user.language and user.language != getattr(request, "LANGUAGE_CODE", None):
                translation.activate(user.language)
                request.LANGUAGE_CODE = translation.get_language()
            timezone.activate(zoneinfo.ZoneInfo(viewer_zone(user, request.session)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
