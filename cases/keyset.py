"""Keyset ("seek") pagination for the inbox: a page is "the next N rows after this row in the
queryset's own order", never OFFSET. The cost of page 1 and page 10,000 is the same, and no
page runs COUNT(*).

Works over any ordering the selector chose (plain fields, annotations or expressions, either
direction, with PostgreSQL's NULL placement), with the primary key appended as the tie-breaker.
A cursor is the sort-key values of the row to continue from, base64url-encoded JSON; a cursor
that does not decode is ignored (first page), never a 500. Cursors only narrow a queryset the
caller already scoped, so a crafted one cannot reveal anything."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import F, OrderBy, Q, QuerySet
from django.db.models.expressions import BaseExpression

KEY_PREFIX = "_seek"


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


@dataclass(frozen=True)
class _Term:
    expression: BaseExpression
    descending: bool
    nulls_first: bool  # where NULLs sort in this direction (PostgreSQL: last ascending, first descending)


def _terms(queryset: QuerySet) -> list[_Term]:
    """The queryset's ORDER BY as expressions, with the primary key appended when missing."""
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    terms: list[_Term] = []
    has_pk = False
    pk_names = {"pk", "id", queryset.model._meta.pk.attname}
    for item in ordering:
        if isinstance(item, str):
            descending = item.startswith("-")
            name = item.lstrip("-")
            has_pk = has_pk or name in pk_names
            expression, nulls_first = F(name), None
        elif isinstance(item, OrderBy):
            descending = item.descending
            expression = item.expression
            nulls_first = True if item.nulls_first else False if item.nulls_last else None
            has_pk = has_pk or (isinstance(expression, F) and expression.name in pk_names)
        else:  # a bare expression orders ascending
            descending, expression, nulls_first = False, item, None
        if nulls_first is None:
            nulls_first = descending
        terms.append(_Term(expression, descending, nulls_first))
    if not has_pk:
        terms.append(_Term(F("pk"), False, False))
    return terms


def _order_by(term: _Term, alias: str, reverse: bool):
    descending = term.descending != reverse
    nulls_first = term.nulls_first != reverse
    field = F(alias)
    # Say NULLS FIRST/LAST only where it differs from PostgreSQL's default for the direction, so
    # plain columns keep their index-friendly ORDER BY.
    placement = {} if nulls_first == descending else {"nulls_first": True} if nulls_first else {"nulls_last": True}
    return field.desc(**placement) if descending else field.asc(**placement)


def _after(alias: str, value, descending: bool, nulls_first: bool) -> Q | None:
    """Rows strictly after `value` in this one key; None means "no row can be after"."""
    if value is None:
        # NULLs are equal to each other: after them come the non-NULLs if NULLs sort first.
        return Q(**{f"{alias}__isnull": False}) if nulls_first else None
    beyond = Q(**{f"{alias}__lt" if descending else f"{alias}__gt": value})
    if not nulls_first:
        beyond |= Q(**{f"{alias}__isnull": True})
    return beyond


def _equal(alias: str, value) -> Q:
    return Q(**{f"{alias}__isnull": True}) if value is None else Q(**{alias: value})


def _seek_filter(terms: list[_Term], values: list, reverse: bool) -> Q:
    condition = Q(pk__in=[])  # matches nothing; OR-ed with each branch
    prefix = Q()
    for i, (term, value) in enumerate(zip(terms, values, strict=True)):
        alias = f"{KEY_PREFIX}{i}"
        after = _after(alias, value, term.descending != reverse, term.nulls_first != reverse)
        if after is not None:
            condition |= prefix & after
        prefix &= _equal(alias, value)
    return condition


# --- cursor encoding: typed JSON so datetimes and decimals come back as they went in ---------
def _dump(value):
    if isinstance(value, datetime.datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["d", value.isoformat()]
    if isinstance(value, Decimal):
        return ["dec", str(value)]
    if value is None or isinstance(value, bool | int | float | str):
        return ["v", value]
    return ["v", str(value)]


def _load(item):
    tag, raw = item
    if tag == "dt":
        return datetime.datetime.fromisoformat(raw)
    if tag == "d":
        return datetime.date.fromisoformat(raw)
    if tag == "dec":
        return Decimal(raw)
    if tag == "v":
        return raw
    raise ValueError(tag)


def encode_cursor(values: list) -> str:
    raw = json.dumps([_dump(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, length: int) -> list | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = [_load(item) for item in json.loads(raw)]
    except (ValueError, TypeError, binascii.Error, InvalidOperation, json.JSONDecodeError):
        return None
    return values if len(values) == length else None


def paginate(queryset: QuerySet, *, after: str | None = None, before: str | None = None, size: int = 50) -> Page:
    """One page of `queryset` in its own order: the first, the one after cursor `after`, or the
    one before cursor `before`. One query (size + 1 rows: the extra row says whether more follow)."""
    terms = _terms(queryset)
    aliases = [f"{KEY_PREFIX}{i}" for i in range(len(terms))]
    keyed = queryset.annotate(**{alias: term.expression for alias, term in zip(aliases, terms, strict=True)})
    after_values = decode_cursor(after, len(terms))
    before_values = None if after_values is not None else decode_cursor(before, len(terms))
    backwards = before_values is not None
    keyed = keyed.order_by(*(_order_by(t, a, backwards) for t, a in zip(terms, aliases, strict=True)))
    if after_values is not None:
        keyed = keyed.filter(_seek_filter(terms, after_values, reverse=False))
    elif backwards:
        keyed = keyed.filter(_seek_filter(terms, before_values, reverse=True))
    rows = list(keyed[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    def cursor_of(row) -> str:
        return encode_cursor([getattr(row, alias) for alias in aliases])

    if not rows:
        return Page(rows=[], next_cursor=None, prev_cursor=None)
    if backwards:
        next_cursor = cursor_of(rows[-1])
        prev_cursor = cursor_of(rows[0]) if more else None
    else:
        next_cursor = cursor_of(rows[-1]) if more else None
        prev_cursor = cursor_of(rows[0]) if after_values is not None else None
    return Page(rows=rows, next_cursor=next_cursor, prev_cursor=prev_cursor)
