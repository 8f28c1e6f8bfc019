"""Outcome events from a CSV file, on the import machinery (imports.registry): the same rows the
bulk API takes (outcomes.rows), checked by the same parser and written by the same service, with
a progress bar, idempotence on (source, external id) and errors by row (docs/outcomes.md)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from imports.registry import BatchOutcome, Column, Importer, Row, register
from outcomes.rows import KINDS, RowInvalid, outcome_row_parse
from outcomes.services import outcome_events_upsert


def outcomes_upsert(rows: list[Row]) -> BatchOutcome:
    """Parse each row as the API parses an item (other columns become attributes), then write the
    batch through outcome_events_upsert: created, updated or unchanged, or the row's errors."""
    outcome = BatchOutcome()
    parsed = []
    for row in rows:
        data = {name: str(value) for name, value in row.values.items() if value not in (None, "")}
        data.update({name: value for name, value in row.extra.items() if value not in (None, "")})
        try:
            parsed.append(outcome_row_parse(data, default_source="csv", extra_attributes=True))
        except RowInvalid as exc:
            for column, messages in exc.errors.items():
                outcome.fail(row, column, " ".join(str(m) for m in messages))
            parsed.append(None)
    for result in outcome_events_upsert(parsed):
        row = rows[result.index]
        if result.status == "error":
            for column, messages in result.errors.items():
                outcome.fail(row, column, " ".join(str(m) for m in messages))
        else:
            outcome.done(row, result.status, result.id)
    return outcome


OUTCOMES = Importer(
    kind="outcomes", label=_("Business outcomes"), upsert=outcomes_upsert, extra_columns=True,
    natural_key=(("external_id",),),
    columns=(
        Column("external_id", required=True, aliases=("event_id", "id", "invoice_id", "order_id")),
        Column("kind", Column.CHOICE, required=True, choices=KINDS, aliases=("type", "event", "outcome")),
        Column("amount", aliases=("value", "total")),
        Column("currency", aliases=("currency_code", "ccy")),
        Column("occurred_at", aliases=("date_time", "timestamp", "created_at")),
        Column("occurred_on", aliases=("date", "day")),
        Column("source", aliases=("system", "origin")),
        Column("customer", Column.INTEGER, aliases=("customer_pk", "closeloop_customer")),
        Column("customer_external_id", aliases=("customer_id", "crm_customer_id")),
        Column("customer_email", Column.EMAIL, aliases=("email", "e-mail")),
        Column("account", Column.INTEGER, aliases=("account_pk", "closeloop_account")),
        Column("account_external_id", aliases=("account_id", "crm_account_id")),
    ),
    help=_("One event per row: its external id, kind (renewal, churn, downgrade, expansion, purchase, refund), "
           "amount and currency, date, and the customer or account it belongs to. The same external id from the "
           "same source is one event: importing the file again changes nothing. Other columns are kept as "
           "attributes."),
)


def register_importers() -> None:
    register(OUTCOMES)
