"""Keyset ("seek") pagination for the inbox: a page is "the next N rows after this row in the
queryset's own order", never OFFSET. The cost of page 1 and page 10,000 is the same, and no
page runs COUNT(*).

Works over any ordering the selector chose (plain fields, annotations or expressions, either
direction, with PostgreSQL's NULL placement), with the primary key appended as the tie-breaker.
A cursor is the sort-key values of the row to continue from, base64url-encoded JSON; a cursor
that does not decode is ignored (first page), never a 500. Cursors only narrow a queryset the
caller already scoped, so a crafted one cannot reveal anything.

"After this row" is one row-value comparison, `(k1, k2, id) > (v1, v2, v_id)`, when every key
runs in the same direction and none can be NULL (every order the inbox offers: cases/ordering.py).
PostgreSQL then starts the index scan at the cursor (the comparison's prefix that the index holds
is its index condition) and stops after one page. Otherwise (mixed directions, NULLs) the condition
is OR-expanded, "k1 > v1 OR (k1 = v1 AND k2 > v2) OR ...", which the planner may turn into bitmap
scans of every row after the cursor; a plain range on the first key (`k1 >= v1`, when it cannot be
NULL) is added so that it at least has one range to start an index scan from."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldError, ValidationError
from django.db import connections
from django.db.models import BooleanField, F, OrderBy, Q, QuerySet, Value
from django.db.models.expressions import (
    BaseExpression,
    Case,
    Col,
    CombinedExpression,
    Expression,
    Func,
    When,
)

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


class RowCompare(Expression):
    """`(a, b, c) > (x, y, z)`: SQL's row-value comparison (lexicographic, as ORDER BY a, b, c
    sorts), usable in .filter(). PostgreSQL and SQLite (3.15+) both have it."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, lhs, operator: str, rhs):
        super().__init__(output_field=BooleanField())
        if operator not in (">", "<") or len(lhs) != len(rhs):
            raise ValueError("RowCompare takes two rows of the same length and > or <.")
        self.lhs, self.operator, self.rhs = list(lhs), operator, list(rhs)

    def get_source_expressions(self):
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs):
        self.lhs, self.rhs = list(exprs[: len(self.lhs)]), list(exprs[len(self.lhs):])

    def as_sql(self, compiler, connection):
        sides, params = [], []
        for side in (self.lhs, self.rhs):
            parts = []
            for expression in side:
                sql, part_params = compiler.compile(expression)
                parts.append(sql)
                params.extend(part_params)
            sides.append(f"({', '.join(parts)})")
        return f"{sides[0]} {self.operator} {sides[1]}", params


def _never_null(expression, query) -> bool:
    """True only when `expression` cannot be NULL on any row (a NOT NULL column of the queryset's
    own table, or a function, CASE or arithmetic over such columns and non-NULL constants).
    Anything it cannot tell about counts as nullable, so the caller keeps the OR expansion."""
    if isinstance(expression, F):
        name = expression.name
        if name in query.annotations:
            return _never_null(query.annotations[name], query)
        if "__" in name:
            return False  # across a join: a missing row is NULL
        opts = query.model._meta
        field = opts.pk if name == "pk" else next((f for f in opts.concrete_fields if name in (f.name, f.attname)), None)
        return field is not None and not field.null
    if isinstance(expression, Col):
        return expression.alias == query.base_table and not expression.target.null
    if isinstance(expression, Value):
        return expression.value is not None
    if isinstance(expression, When):
        return _never_null(expression.result, query)
    if isinstance(expression, Case):
        return all(_never_null(e, query) for e in (*expression.cases, expression.default))
    if isinstance(expression, (Func, CombinedExpression)):
        sources = expression.get_source_expressions()
        return bool(sources) and all(_never_null(e, query) for e in sources)
    return False


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


def _row_comparable(queryset: QuerySet, terms: list[_Term]) -> bool:
    """One row-value comparison can say "after this row": every key in one direction, none NULL,
    and a database that has row values."""
    connection = connections[queryset.db]
    if connection.vendor not in ("postgresql", "sqlite"):
        return False
    if len({term.descending for term in terms}) != 1:
        return False
    return all(_never_null(term.expression, queryset.query) for term in terms)


def _seek_filter(terms: list[_Term], values: list, reverse: bool, *, row_compare: bool = False,
                 first_never_null: bool = False):
    """The rows after `values` (before them when `reverse`) in the terms' order."""
    if row_compare and all(value is not None for value in values):
        descending = terms[0].descending != reverse
        aliases = [F(f"{KEY_PREFIX}{i}") for i in range(len(terms))]
        return RowCompare(aliases, "<" if descending else ">", [Value(value) for value in values])
    condition = Q(pk__in=[])  # matches nothing; OR-ed with each branch
    prefix = Q()
    for i, (term, value) in enumerate(zip(terms, values, strict=True)):
        alias = f"{KEY_PREFIX}{i}"
        after = _after(alias, value, term.descending != reverse, term.nulls_first != reverse)
        if after is not None:
            condition |= prefix & after
        prefix &= _equal(alias, value)
    if first_never_null and values[0] is not None:
        # Redundant with the OR, but a plain range the index scan can start from.
        lookup = "lte" if terms[0].descending != reverse else "gte"
        condition &= Q(**{f"{KEY_PREFIX}0__{lookup}": values[0]})
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


def _typed(keyed: QuerySet, aliases: list[str], values: list | None) -> list | None:
    """The cursor's values as the types of the keys they stand for (a datetime for a datetime key),
    or None (the first page) for a cursor whose values do not fit: a crafted cursor is never a 500."""
    if values is None:
        return None
    typed = []
    for alias, value in zip(aliases, values, strict=True):
        if value is None:
            typed.append(None)
            continue
        try:
            field = keyed.query.annotations[alias].output_field
        except FieldError:
            typed.append(value)  # a key of mixed types: left to the database
            continue
        try:
            typed.append(field.to_python(value))
        except (ValidationError, TypeError, ValueError):
            return None
    return typed


def paginate(queryset: QuerySet, *, after: str | None = None, before: str | None = None, size: int = 50) -> Page:
    """One page of `queryset` in its own order: the first, the one after cursor `after`, or the
    one before cursor `before`. One query (size + 1 rows: the extra row says whether more follow)."""
    terms = _terms(queryset)
    aliases = [f"{KEY_PREFIX}{i}" for i in range(len(terms))]
    keyed = queryset.annotate(**{alias: term.expression for alias, term in zip(aliases, terms, strict=True)})
    after_values = _typed(keyed, aliases, decode_cursor(after, len(terms)))
    before_values = None if after_values is not None else _typed(keyed, aliases, decode_cursor(before, len(terms)))
    backwards = before_values is not None
    keyed = keyed.order_by(*(_order_by(t, a, backwards) for t, a in zip(terms, aliases, strict=True)))
    cursor_values = after_values if after_values is not None else before_values
    if cursor_values is not None:
        seek = {"row_compare": _row_comparable(queryset, terms),
                "first_never_null": _never_null(terms[0].expression, queryset.query)}
        keyed = keyed.filter(_seek_filter(terms, cursor_values, reverse=backwards, **seek))
    return page_of(list(keyed[: size + 1]), size, backwards=backwards, after=after_values is not None)


def first_page_query(queryset: QuerySet, size: int = 50) -> QuerySet:
    """The statement paginate runs for the first page of `queryset` (for a caller that runs it
    itself, e.g. compiled once per process: core.compiled; page_of makes the page of its rows)."""
    terms = _terms(queryset)
    aliases = [f"{KEY_PREFIX}{i}" for i in range(len(terms))]
    keyed = queryset.annotate(**{alias: term.expression for alias, term in zip(aliases, terms, strict=True)})
    return keyed.order_by(*(_order_by(t, a, False) for t, a in zip(terms, aliases, strict=True)))[: size + 1]


def page_of(rows: list, size: int, *, backwards: bool = False, after: bool = False) -> Page:
    """The page of the size + 1 rows read (in the query's order, reversed when `backwards`): its
    rows and cursors. `after`: the page was asked for after a cursor (so it has one before it)."""
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if not rows:
        return Page(rows=[], next_cursor=None, prev_cursor=None)
    sample = rows[0]
    aliases = sorted((key for key in (sample if isinstance(sample, dict) else vars(sample)) if key.startswith(KEY_PREFIX)),
                     key=lambda key: int(key[len(KEY_PREFIX):]))

    def cursor_of(row) -> str:  # a model instance, or a dict from values()
        if isinstance(row, dict):
            return encode_cursor([row[alias] for alias in aliases])
        return encode_cursor([getattr(row, alias) for alias in aliases])

    if backwards:
        next_cursor = cursor_of(rows[-1])
        prev_cursor = cursor_of(rows[0]) if more else None
    else:
        next_cursor = cursor_of(rows[-1]) if more else None
        prev_cursor = cursor_of(rows[0]) if after else None
    return Page(rows=rows, next_cursor=next_cursor, prev_cursor=prev_cursor)
