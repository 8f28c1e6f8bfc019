"""Who may use which area, and how a refusal is answered: the one policy every page and API uses.

- Not signed in: a page redirects to the login page; the API answers 401 (DRF's authentication).
- Signed in, but the area needs a role the user does not have (the delivery console, alert rules,
  reports, privacy): **404**, on pages and in the API alike, as for any object outside the
  user's teams. An area a user may not use is not advertised.
- Signed in, allowed to read something but not to change it (an agent reading themes): **403**
  with a sentence that says who may.

Roles are `User.is_admin_role` (CX admins, superusers) and `User.is_manager_role` (managers and
admins); both live on the user model, this module only decides how they are asked and answered.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from rest_framework import permissions
from rest_framework.exceptions import NotFound

ADMIN = "admin"
MANAGER = "manager"

# The message a refusal carries where one is shown (403 on a write to something readable).
WHO_MAY = {ADMIN: "CX admins", MANAGER: "managers and CX admins"}


def has_role(user, role: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    if role == ADMIN:
        return user.is_admin_role
    if role == MANAGER:
        return user.is_manager_role
    raise ValueError(f"Unknown role {role!r}.")


def role_required(role: str):
    """A page for one role: anonymous users go to the login page, other users get a 404."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, role):
                raise Http404("No such page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required(ADMIN)
manager_required = role_required(MANAGER)


class _RoleRequired(permissions.BasePermission):
    """An API area for one role: 401 without credentials, 404 for a user without the role."""

    role = ADMIN

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if not has_role(user, self.role):
            raise NotFound()
        return True


class IsCxAdmin(_RoleRequired):
    role = ADMIN


class IsManager(_RoleRequired):
    role = MANAGER


class IsCxAdminOrReadOnly(permissions.BasePermission):
    """Everyone signed in reads; only CX admins write (403 naming who may: they can see it)."""

    message = f"Only {WHO_MAY[ADMIN]} may change this."

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or has_role(request.user, ADMIN)
