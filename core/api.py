"""API plumbing shared by every app: the error format."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


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
