"""The inbox table's columns: a fixed set, chosen per person in the address (`?columns=`) and kept
in saved views.

    COLUMNS                            every column, in the order the table shows them
    choose_columns(params) -> ColumnChoice   what a request asks to show (unknown names noted, not fatal)
    clean_columns(values) -> list[str]       for a saved view: unknown names are a ValidationError

`?columns=` lists the columns to show (`columns=case&columns=score&columns=sla`). Without the
parameter the table shows DEFAULT_COLUMNS. "case" (the reference and the priority: the link that
opens the case and the checkbox beside it) is always shown; the column chooser sends it as a
hidden value, so a person who unticks every other column still sends `columns=case` and gets a
table of references rather than the defaults back.

Every column prints what the page's one list query already loaded (cases.views.inbox_lists.row_queryset,
row_fields): choosing columns never adds a query.

On a phone the rows are cards whose compact form (reference and priority, owner, score, SLA,
comment, customer) does not change with the choice (docs/inbox.md, "Columns")."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

PARAM = "columns"
ALWAYS = "case"


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    default: bool  # shown without ?columns=
    card: bool  # part of the phone card's compact form (rendered even when not chosen, hidden on a desktop)


COLUMNS: tuple[Column, ...] = (
    Column(ALWAYS, _("Case"), default=True, card=True),
    Column("status", _("Status"), default=False, card=False),
    Column("score", _("Score"), default=True, card=True),
    Column("comment", _("Comment"), default=True, card=True),
    Column("customer", _("Customer"), default=True, card=True),
    Column("touchpoint", _("Touchpoint"), default=False, card=False),
    Column("value", _("Value at risk"), default=False, card=False),
    Column("owner", _("Team / owner"), default=True, card=True),
    Column("age", _("Age"), default=False, card=False),
    Column("sla", _("SLA"), default=True, card=True),
    Column("due", _("Due"), default=False, card=False),
)
BY_KEY = {column.key: column for column in COLUMNS}
DEFAULT_COLUMNS: tuple[str, ...] = tuple(column.key for column in COLUMNS if column.default)
OPTIONAL = tuple(column for column in COLUMNS if column.key != ALWAYS)


def _ordered(keys) -> tuple[str, ...]:
    """`keys` (known ones) in the table's order, "case" first."""
    wanted = {*keys, ALWAYS}
    return tuple(column.key for column in COLUMNS if column.key in wanted)


@dataclass(frozen=True)
class ColumnChoice:
    shown: tuple[str, ...]  # in the table's order, "case" first
    explicit: bool  # the address chose them (?columns= present)
    unknown: tuple[str, ...] = ()  # names asked for that are not columns (left out)

    def __contains__(self, key: str) -> bool:
        return key in self.shown

    @property
    def is_default(self) -> bool:
        return self.shown == DEFAULT_COLUMNS

    @property
    def query_values(self) -> list[str]:
        """What ?columns= carries for this choice ([] for the defaults: the address needs none)."""
        return [] if self.is_default and not self.explicit else list(self.shown)


def _values(params) -> list[str] | None:
    if hasattr(params, "getlist"):
        return params.getlist(PARAM) if PARAM in params else None
    if PARAM not in params:
        return None
    values = params[PARAM]
    return list(values) if isinstance(values, list | tuple) else [values]


def choose_columns(params) -> ColumnChoice:
    """The columns a request (a QueryDict, or a dict of value lists) asks for. Unknown names are
    left out and reported (the page says so); blank values are ignored."""
    values = _values(params)
    if values is None:
        return ColumnChoice(DEFAULT_COLUMNS, explicit=False)
    names = [str(v).strip() for v in values if str(v).strip()]
    unknown = tuple(dict.fromkeys(name for name in names if name not in BY_KEY))
    return ColumnChoice(_ordered(name for name in names if name in BY_KEY), explicit=True, unknown=unknown)


def clean_columns(values) -> list[str]:
    """`values` as a saved view stores them: the table's order, "case" first. An unknown name is a
    ValidationError naming the columns there are."""
    names = [str(v).strip() for v in values if str(v).strip()]
    unknown = [name for name in dict.fromkeys(names) if name not in BY_KEY]
    if unknown:
        raise ValidationError({PARAM: [
            f"Unknown column {', '.join(unknown)}: use some of {', '.join(BY_KEY)}."]})
    return list(_ordered(names))


def canonical(values: list[str] | None) -> tuple[str, ...]:
    """The columns a stored or requested ?columns= list shows (the defaults for none)."""
    return DEFAULT_COLUMNS if values is None else _ordered(v for v in values if v in BY_KEY)
