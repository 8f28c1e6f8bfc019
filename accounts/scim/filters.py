"""SCIM filters (`filter=userName eq "bjensen"`, RFC 7644 §3.4.2.2) as Django querysets, through
scim2-filter-parser's Q-object transpiler (django-scim2's default builds raw SQL instead).

A filter on an attribute Closeloop cannot filter on is refused (the view answers 400 invalidFilter)
rather than dropped: `userName eq "a" and title eq "b"` must not quietly mean `userName eq "a"`."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError
from scim2_filter_parser.transpilers.django_q_object import Transpiler

from accounts.models import Team, User
from accounts.scim.patch import CONTROL


class StrictTranspiler(Transpiler):
    def visit_AttrPath(self, node):
        found = super().visit_AttrPath(node)
        if found is None:
            name = node.attr_name + (f".{node.sub_attr.value}" if node.sub_attr else "")
            raise ValueError(f"filtering on “{name}” is not supported")
        return found


class FilterQuery:
    model = None
    attr_map: dict = {}

    @classmethod
    def search(cls, filter_query: str, request=None):
        if CONTROL.search(filter_query):
            raise ValueError("a filter may not contain control characters")
        try:
            q = StrictTranspiler(cls.attr_map).transpile(SCIMParser().parse(SCIMLexer().tokenize(filter_query)))
        except (ValueError, SCIMParserError):
            raise
        except Exception as exc:  # noqa: BLE001 - anything else the parser trips on is still the filter's fault
            raise ValueError(f"the filter could not be read ({exc.__class__.__name__})") from None
        if q is None:
            raise ValueError("the filter names no attribute")
        try:
            return cls.model.objects.filter(q).order_by("pk")
        except ValidationError as exc:
            raise ValueError(" ".join(exc.messages)) from None


class UserFilter(FilterQuery):
    model = User
    attr_map = {
        ("userName", None, None): "username",
        ("externalId", None, None): "scim_external_id",
        ("emails", None, None): "email",
        ("emails", "value", None): "email",
        ("name", "givenName", None): "first_name",
        ("name", "familyName", None): "last_name",
        ("active", None, None): "is_active",
    }


class TeamFilter(FilterQuery):
    model = Team
    attr_map = {
        ("displayName", None, None): "name",
        ("externalId", None, None): "scim_external_id",
    }
