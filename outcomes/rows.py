"""One outcome event as it arrives from outside (an API item, a CSV row, a Stripe event): the
`OutcomeRow` dataclass the upsert service takes, and `outcome_row_parse`, which turns a mapping of
field -> value (JSON values, or the text of a CSV cell) into one, or says field by field what to fix.

Fields of an item (the CSV columns have the same names):

    kind            renewal | churn | downgrade | expansion | purchase | refund     (required)
    amount          a number in the currency's major unit, at most its minor-unit decimals (required;
                    0 for a churn whose value is unknown)
    currency        ISO 4217 code (EUR, usd, JPY)                                   (required)
    occurred_at     an ISO 8601 date-time, or a date (then midnight in the site's time zone)
    occurred_on     the same as a date; one of the two is required
    external_id     the event's id in its source (required: the idempotency key)
    source          where it comes from (default: the door's, "api" or "csv")
    customer        a Closeloop customer id, or
    customer_external_id / customer_email   matched by the customers' identity rules
    account         a Closeloop account id, or account_external_id
    attributes      a JSON object (JSON items only; a CSV's other columns become attributes)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import iso4217
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from surveys.storable import storable, storable_json

KINDS = ("renewal", "churn", "downgrade", "expansion", "purchase", "refund")
MAX_AMOUNT = Decimal(10) ** 15  # the column holds 15 digits before the point
FIELDS = ("kind", "amount", "currency", "occurred_at", "occurred_on", "external_id", "source", "customer",
          "customer_external_id", "customer_email", "account", "account_external_id", "attributes")
LIMITS = {"external_id": 255, "source": 80, "customer_external_id": 255, "customer_email": 254,
          "account_external_id": 255}


@dataclass(frozen=True)
class OutcomeRow:
    """A valid outcome event, before its customer and account are looked up."""

    kind: str
    amount: Decimal
    currency: str
    occurred_at: dt.datetime
    external_id: str
    source: str
    customer_id: int | None = None
    customer_external_id: str = ""
    customer_email: str = ""
    account_id: int | None = None
    account_external_id: str = ""
    attributes: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.external_id)

    @property
    def names_customer(self) -> bool:
        return bool(self.customer_id or self.customer_external_id or self.customer_email)

    @property
    def names_account(self) -> bool:
        return bool(self.account_id or self.account_external_id)


class RowInvalid(Exception):
    """What is wrong with an item, by field: {field: [sentence, ...]}."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def currency_exponent(code: str) -> int | None:
    """The number of minor-unit digits of an ISO 4217 currency (EUR 2, JPY 0, KWD 3), None when
    the code is not one. Currencies without a minor unit in the standard (XAU) count as 0."""
    try:
        exponent = iso4217.Currency(code.upper()).exponent
    except ValueError:
        return None
    return exponent or 0


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError("a text value, not true or false")
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"a text value, not a JSON {type(value).__name__}")
    return storable(value).strip()


def _amount(value: Any, currency: str | None, errors: dict) -> Decimal | None:
    if value is None or value == "":
        errors["amount"] = ["Required: the amount in the currency's major unit (12.50 for 12.50 EUR)."]
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        errors["amount"] = ["A number, such as 1250.00."]
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "") if isinstance(value, str) else str(value))
    except InvalidOperation:
        errors["amount"] = [f"{str(value)[:40]!r} is not a number: write it as 1250.00."]
        return None
    if not amount.is_finite():
        errors["amount"] = ["A finite number, such as 1250.00."]
        return None
    if amount < 0:
        errors["amount"] = ["Not negative: the kind says which way the money went (refund, churn, downgrade)."]
        return None
    if amount >= MAX_AMOUNT:
        errors["amount"] = ["Too large: at most 15 digits before the decimal point."]
        return None
    exponent = currency_exponent(currency) if currency else None
    if exponent is not None and amount != amount.quantize(Decimal(1).scaleb(-exponent), rounding="ROUND_DOWN"):
        places = f"{exponent} decimal places" if exponent else "no decimal places"
        errors["amount"] = [f"{currency.upper()} has {places}: {amount} is not an amount in it."]
        return None
    return amount


def _when(data: Mapping, errors: dict) -> dt.datetime | None:
    raw_at, raw_on = data.get("occurred_at"), data.get("occurred_on")
    try:
        raw_at, raw_on = _text(raw_at), _text(raw_on)
    except ValueError as exc:
        errors["occurred_at"] = [f"An ISO 8601 date or date-time, {exc}."]
        return None
    if not raw_at and not raw_on:
        errors["occurred_at"] = ["Required: when it happened, as 2026-03-01 or 2026-03-01T10:00:00Z."]
        return None
    raw = raw_at or raw_on
    try:
        moment = parse_datetime(raw)
        day = None if moment else parse_date(raw)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        errors["occurred_at"] = [f"{raw[:40]!r} is not a date: write 2026-03-01 or 2026-03-01T10:00:00Z."]
        return None
    if moment is None:
        moment = dt.datetime.combine(day, dt.time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    if not dt.datetime(1900, 1, 1, tzinfo=dt.UTC) <= moment <= dt.datetime(2999, 12, 31, tzinfo=dt.UTC):
        errors["occurred_at"] = ["A date between 1900 and 2999."]
        return None
    return moment


def _int_id(name: str, value: Any, errors: dict) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors[name] = ["A Closeloop id (a whole number)."]
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        errors[name] = [f"{str(value)[:40]!r} is not a Closeloop id (a whole number)."]
        return None
    if not 0 < number < 2**63:
        errors[name] = ["A Closeloop id (a positive whole number)."]
        return None
    return number


def outcome_row_parse(data: Mapping[str, Any], *, default_source: str, extra_attributes: bool = False) -> OutcomeRow:
    """An `OutcomeRow` from a mapping of field -> value, or RowInvalid naming each field to fix.

    `extra_attributes`: fields that are not outcome fields become attributes (a CSV's other
    columns); otherwise an unknown field is refused, so a typo is not silently dropped."""
    if not isinstance(data, Mapping):
        raise RowInvalid({"non_field_errors": ["Each item is a JSON object of field -> value."]})
    errors: dict[str, list[str]] = {}
    unknown = [key for key in data if key not in FIELDS]
    if unknown and not extra_attributes:
        errors["non_field_errors"] = [f"Unknown field {unknown[0]!r}; the fields are: {', '.join(FIELDS)}."]
    texts: dict[str, str] = {}
    for name in ("kind", "currency", "external_id", "source", "customer_external_id", "customer_email",
                 "account_external_id"):
        try:
            texts[name] = _text(data.get(name))
        except ValueError as exc:
            errors[name] = [f"Expected {exc}."]
            texts[name] = ""
        if len(texts[name]) > LIMITS.get(name, 255):
            errors[name] = [f"At most {LIMITS.get(name, 255)} characters."]
    kind = texts["kind"].lower()
    if kind not in KINDS and "kind" not in errors:
        errors["kind"] = [f"{texts['kind'][:40]!r} is not a kind: choose one of {', '.join(KINDS)}." if kind
                          else f"Required: one of {', '.join(KINDS)}."]
    currency = texts["currency"].upper()
    if "currency" not in errors and currency_exponent(currency) is None:
        errors["currency"] = [f"{texts['currency'][:40]!r} is not an ISO 4217 currency code (EUR, USD, JPY)." if currency
                              else "Required: an ISO 4217 currency code (EUR, USD, JPY)."]
        currency = ""
    amount = _amount(data.get("amount"), currency or None, errors)
    moment = _when(data, errors)
    if not texts["external_id"] and "external_id" not in errors:
        errors["external_id"] = ["Required: the event's id in your system (sending it again updates the event)."]
    email = texts["customer_email"].lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["customer_email"] = [f"{email[:60]!r} is not an e-mail address."]
    customer_id = _int_id("customer", data.get("customer"), errors)
    account_id = _int_id("account", data.get("account"), errors)
    attributes = data.get("attributes") if "attributes" in data else {}
    if attributes in (None, ""):
        attributes = {}
    if not isinstance(attributes, dict):
        errors["attributes"] = ["A JSON object of name -> value."]
    elif extra_attributes:
        attributes = {**attributes, **{k: v for k, v in data.items() if k not in FIELDS and v not in (None, "")}}
    if not errors and not (customer_id or texts["customer_external_id"] or email or account_id
                           or texts["account_external_id"]):
        errors["customer"] = ["Name the customer (customer, customer_external_id or customer_email) or the account "
                              "(account or account_external_id)."]
    if errors:
        raise RowInvalid(errors)
    return OutcomeRow(
        kind=kind, amount=amount, currency=currency, occurred_at=moment, external_id=texts["external_id"],
        source=texts["source"] or default_source, customer_id=customer_id,
        customer_external_id=texts["customer_external_id"], customer_email=email, account_id=account_id,
        account_external_id=texts["account_external_id"], attributes=storable_json(attributes),
    )
