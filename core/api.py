"""API plumbing shared by every app: the error format."""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler as drf_exception_handler


# Django's slug characters (SlugField without allow_unicode). Slug lookups and slug filters check a
# value against it before querying: PostgreSQL refuses a NUL in text, which would be a 500.
SLUG_CHARACTERS = re.compile(r"[-a-zA-Z0-9_]+")


class SlugRelatedField(serializers.SlugRelatedField):
    """DRF's SlugRelatedField for slugs that are Django slugs: a value with other characters (a NUL,
    which PostgreSQL refuses in text, a 500) is refused by name as an unknown slug before any query."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not SLUG_CHARACTERS.fullmatch(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The object was changed by someone else."
    default_code = "conflict"


def exception_handler(exc, context):
    """DRF's handler, plus Django's ValidationError (raised by services) as a 400 naming the fields."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


def not_found(request, exception):
    """Django's 404 handler (config/urls.py handler404): under /api/ a path no route takes (a slug
    or reference with a NUL or a control character, an unknown endpoint) answers DRF's JSON
    `{"detail": "Not found."}`, as a missing object does; everywhere else Django's page. A caller
    the API would not know (no credentials, or a token that does not authenticate: wrong, revoked,
    expired) is answered 401 with the sentence every route would give, so an unknown path tells
    them no more than an existing one: a made-up token cannot map which addresses exist."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse
        from django.utils.translation import gettext

        refused = _who_is_calling(request)
        if refused is not None:
            response = JsonResponse({"detail": refused}, status=401)
            response["WWW-Authenticate"] = "Token"  # as DRF's token authentication says it
            return response
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def _who_is_calling(request) -> str | None:
    """None when the API would know the caller (the API's own authentication classes, as every view
    runs them: a token that authenticates, read-only included, or a signed-in session); else the
    401's sentence, DRF's words."""
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    api_request = Request(request, authenticators=[auth() for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES])
    try:
        known = api_request.user.is_authenticated
    except exceptions.AuthenticationFailed as refused:
        return str(refused.detail)
    except exceptions.PermissionDenied:
        return None  # it authenticated, and may not write (a read-only token, a session without CSRF)
    return None if known else str(exceptions.NotAuthenticated.default_detail)
