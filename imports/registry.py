"""What can be imported: one Importer per kind, registered by the app that owns the records.

An app above `imports` registers its importers in its AppConfig.ready():

    from imports.registry import Column, Importer, register

    register(Importer(
        kind="accounts", label=_("Accounts"),
        columns=(Column("external_id", required=True, aliases=("account_id", "id")),
                 Column("name", max_length=200), Column("renewal_date", type=Column.DATE)),
        natural_key=(("external_id",),),
        upsert=accounts_upsert,
    ))

- `columns`: each with a type (text, email, phone, decimal, date, integer, choice, language),
  required or not, and the other headers it is known by (case, spaces, dashes and underscores
  are ignored when headers are compared: "E-mail", "email" and "E_MAIL" are one header).
- `natural_key`: what identifies a row's record, as groups of columns: every group needs one
  non-empty column (the first present is the one that counts); two rows that share a key value
  are never written in the same statement, so the later one wins, in file order.
- `upsert(rows) -> BatchOutcome`: writes a batch of checked rows (Row dataclasses, file order) in
  bulk and answers, per row, created, updated, unchanged or the errors found while writing.
  Called inside a transaction; an exception rolls the batch back and the rows are tried one by
  one, so one bad row never stops the others.
- `extra_columns`: headers no column claims are kept (Row.extra) instead of refused, e.g. as a
  customer's attributes.

The CSV runner (imports.services) and the bulk API (`bulk_upsert`) use the same importer, so a
file and a JSON array are checked and written the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

CREATED, UPDATED, UNCHANGED, FAILED = "created", "updated", "unchanged", "error"


@dataclass(frozen=True)
class Column:
    TEXT, EMAIL, PHONE, DECIMAL, DATE, INTEGER, CHOICE, LANGUAGE = (
        "text", "email", "phone", "decimal", "date", "integer", "choice", "language")

    name: str
    type: str = TEXT
    required: bool = False
    aliases: tuple[str, ...] = ()
    # For CHOICE: the stored values, and other spellings of each ({"decision maker": "decision_maker"}).
    choices: tuple[str, ...] = ()
    choice_aliases: dict = field(default_factory=dict)
    max_length: int = 255
    help: str = ""


@dataclass(frozen=True)
class Row:
    """One checked row: `number` is its row in the file (header = 1) or its index in an API array;
    `values` the typed values of the columns it filled (an empty cell is absent: it changes
    nothing); `extra` the cells of columns no Column claims (importers with extra_columns)."""

    number: int
    values: dict
    extra: dict = field(default_factory=dict)

    def get(self, name: str, default=None):
        return self.values.get(name, default)


@dataclass(frozen=True)
class RowError:
    number: int
    column: str
    message: str


@dataclass
class BatchOutcome:
    """Per row number: CREATED, UPDATED or UNCHANGED and the record's id; rows that could not be
    written are in `errors`."""

    results: dict[int, str] = field(default_factory=dict)
    ids: dict[int, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def fail(self, row: Row, column: str, message: str) -> None:
        self.errors.append(RowError(row.number, column, str(message)))

    def done(self, row: Row, result: str, pk: int | None) -> None:
        self.results[row.number] = result
        if pk is not None:
            self.ids[row.number] = pk

    def merge(self, other: BatchOutcome) -> None:
        self.results.update(other.results)
        self.ids.update(other.ids)
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class Importer:
    kind: str
    label: object  # a lazy translation
    columns: tuple[Column, ...]
    natural_key: tuple[tuple[str, ...], ...]
    upsert: Callable[[list[Row]], BatchOutcome]
    extra_columns: bool = False
    help: object = ""

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def key_values(self, row: Row) -> set[tuple[str, str]]:
        """The natural-key values a row carries (case-insensitive): rows sharing one are one record."""
        return {(name, str(row.values[name]).lower()) for group in self.natural_key for name in group
                if row.values.get(name) not in (None, "")}


_REGISTRY: dict[str, Importer] = {}


def register(importer: Importer) -> Importer:
    """Make `importer` available to the upload page, the imports API and the bulk endpoints. A kind
    registers once (a second registration of the same kind replaces the first: a test's)."""
    _REGISTRY[importer.kind] = importer
    return importer


def importer_for(kind: str) -> Importer | None:
    return _REGISTRY.get(kind)


def importers() -> list[Importer]:
    return sorted(_REGISTRY.values(), key=lambda importer: importer.kind)
