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
    who brought no credentials at all (no Authorization header, not signed in) is answered 401 as
    every route answers them, so a malformed id (`/customers/1.5/`) or a path that exists for nobody
    does not tell an anonymous caller more than an existing one."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse
        from django.utils.translation import gettext

        user = getattr(request, "user", None)
        if "HTTP_AUTHORIZATION" not in request.META and not (user is not None and user.is_authenticated):
            response = JsonResponse({"detail": str(exceptions.NotAuthenticated.default_detail)}, status=401)  # DRF's words
            response["WWW-Authenticate"] = "Token"  # as DRF's token authentication says it
            return response
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
