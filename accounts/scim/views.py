"""django-scim2's views with Closeloop's ids and limits. django-scim2 answers any exception it does
not expect with a 500, so what a client can get wrong is caught here first:
- an id that is not a number, or no such resource: 404;
- a body that is not UTF-8 JSON object, or larger than the upload limit: 400 / 413;
- startIndex or count that are not whole numbers, or count above MAX_RESULTS: 400 / capped.
"""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django_scim import views as scim_views
from django_scim.exceptions import BadRequestError, NotFoundError

from accounts.scim.adapters import MAX_RESULTS
from accounts.scim.auth import scim_error_response


class ScimViewMixin:
    # The provisioning client sends no CSRF token; the bearer token is what authenticates
    # (accounts.scim.auth ignores cookies). as_view() copies this mark from dispatch.
    @method_decorator(csrf_exempt)
    def dispatch(self, request, *args, **kwargs):
        try:
            request.body  # noqa: B018 - read once here, where its size can be refused with a clear answer
        except RequestDataTooBig:
            return scim_error_response("The request body is larger than this server accepts.", 413)
        return super().dispatch(request, *args, **kwargs)

    def get_object(self):
        uuid = self.kwargs.get(self.lookup_url_kwarg) or ""
        if not (uuid.isascii() and uuid.isdigit() and len(uuid) <= 18):
            raise NotFoundError(uuid)
        return super().get_object()

    def load_body(self, body):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestError("The body is not UTF-8 text.", scim_type="invalidSyntax") from None
        try:
            parsed = json.loads(text.strip() or "{}")
        except ValueError as exc:
            raise BadRequestError(f"The body is not JSON: {exc}", scim_type="invalidSyntax") from None
        if not isinstance(parsed, dict):
            raise BadRequestError("The body must be a JSON object.", scim_type="invalidSyntax")
        return parsed

    def _page(self, request):
        start, count = super()._page(request)
        if count is not None and count < 0:
            raise BadRequestError("count must be 0 or more.")
        return start, min(count, MAX_RESULTS) if count is not None else MAX_RESULTS


class UsersView(ScimViewMixin, scim_views.UsersView):
    pass


class UserSearchView(ScimViewMixin, scim_views.UserSearchView):
    pass


class GroupsView(ScimViewMixin, scim_views.GroupsView):
    pass


class GroupSearchView(ScimViewMixin, scim_views.GroupSearchView):
    pass


class NotImplementedView(ScimViewMixin, scim_views.SCIMView):
    pass


class ServiceProviderConfigView(ScimViewMixin, scim_views.ServiceProviderConfigView):
    pass


class ResourceTypesView(ScimViewMixin, scim_views.ResourceTypesView):
    pass


class SchemasView(ScimViewMixin, scim_views.SchemasView):
    pass
