"""API plumbing shared by every app: the error format."""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


# Django's slug characters (SlugField without allow_unicode). Slug lookups and slug filters check a
# value against it before querying: PostgreSQL refuses a NUL in text, which would be a 500.
SLUG_CHARACTERS = re.compile(r"[-a-zA-Z0-9_]+")


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
    `{"detail": "Not found."}`, as a missing object does; everywhere else Django's page."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse
        from django.utils.translation import gettext

        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
