"""Checking one row against the columns its importer declares: typed values or sentences that say
what to write instead. The CSV runner and the bulk API check rows here, so both refuse the same
things with the same words."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.phones import to_e164
from imports.reading import normalized
from imports.registry import Column, Importer, Row, RowError

LANGUAGE = re.compile(r"([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{2}|\d{3}))?")
MAX_VALUE = Decimal("999999999999.99")  # the DecimalField(14, 2) of values
MAX_ATTRIBUTE_NAME, MAX_ATTRIBUTE_VALUE = 100, 1000


class CellError(ValueError):
    pass


def _text(column: Column, value: str) -> str:
    if len(value) > column.max_length:
        raise CellError(_("Longer than %(limit)s characters.") % {"limit": column.max_length})
    return value


def _email(column: Column, value: str) -> str:
    if len(value) > 254:
        raise CellError(_("Longer than %(limit)s characters.") % {"limit": 254})
    try:
        validate_email(value)
    except ValidationError:
        raise CellError(_("“%(value)s” is not an e-mail address.") % {"value": value[:80]}) from None
    return value


def _phone(column: Column, value: str) -> str:
    phone = to_e164(value)
    if phone is None:
        raise CellError(_("“%(value)s” is not a phone number: write it with its country code, e.g. "
                          "+44 20 7946 0958.") % {"value": value[:80]})
    return phone


def _decimal(column: Column, value: str) -> Decimal:
    cleaned = re.sub(r"[\s'€$£¥]", "", value)
    if "," in cleaned and "." in cleaned:  # the later one separates the decimals
        thousands = "," if cleaned.rfind(".") > cleaned.rfind(",") else "."
        cleaned = cleaned.replace(thousands, "").replace(",", ".")
    elif cleaned.count(",") == 1 and re.search(r",\d{1,2}$", cleaned):
        cleaned = cleaned.replace(",", ".")  # 1234,5: a decimal comma
    else:
        cleaned = cleaned.replace(",", "")  # 1,234,567: thousands
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(_("“%(value)s” is not a number.") % {"value": value[:80]}) from None
    if not number.is_finite() or abs(number) > MAX_VALUE:
        raise CellError(_("“%(value)s” is not a number Closeloop can keep (up to 999,999,999,999.99).")
                        % {"value": value[:80]})
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _date(column: Column, value: str) -> date:
    text = value.strip()
    for pattern in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text[:10], pattern).date()
        except ValueError:
            continue
    raise CellError(_("“%(value)s” is not a date: write it as YYYY-MM-DD, e.g. 2027-03-31.") % {"value": value[:80]})


def _integer(column: Column, value: str) -> int:
    try:
        return int(value.replace(",", "").replace(" ", ""))
    except ValueError:
        raise CellError(_("“%(value)s” is not a whole number.") % {"value": value[:80]}) from None


def _choice(column: Column, value: str) -> str:
    key = normalized(value)
    options = {normalized(choice): choice for choice in column.choices}
    options.update({normalized(k): v for k, v in column.choice_aliases.items()})
    if key in options:
        return options[key]
    raise CellError(_("“%(value)s” is not one of: %(choices)s.") % {"value": value[:80],
                                                                     "choices": ", ".join(column.choices)})


def _language(column: Column, value: str) -> str:
    found = LANGUAGE.fullmatch(value.strip())
    if not found:
        raise CellError(_("“%(value)s” is not a language code: write it as ISO 639-1, e.g. en, fr or pt-BR.")
                        % {"value": value[:80]})
    language, region = found.group(1).lower(), found.group(2)
    return f"{language}-{region.upper()}" if region else language


PARSERS = {Column.TEXT: _text, Column.EMAIL: _email, Column.PHONE: _phone, Column.DECIMAL: _decimal,
           Column.DATE: _date, Column.INTEGER: _integer, Column.CHOICE: _choice, Column.LANGUAGE: _language}


def as_text(value) -> str:
    """A cell as text: JSON numbers and booleans as written, null as empty; NUL removed (no
    database keeps it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise CellError(_("Give a single value, not a list or an object."))
    return str(value).replace("\x00", "").strip()


def check_row(importer: Importer, mapping: dict[str, str | None], number: int, cells: dict,
              extra_cells: int = 0) -> tuple[Row | None, list[RowError]]:
    """The checked Row, or None and every error the row has (all of them at once, one per cell)."""
    values, extra, errors = {}, {}, []
    if extra_cells:
        errors.append(RowError(number, "", ngettext(
            "This row has %(extra)s cell more than the header has columns: a delimiter inside a value needs quotes.",
            "This row has %(extra)s cells more than the header has columns: a delimiter inside a value needs quotes.",
            extra_cells) % {"extra": extra_cells}))
    for header, raw in cells.items():
        name = mapping.get(header)
        try:
            text = as_text(raw)
        except CellError as exc:
            errors.append(RowError(number, name or header, str(exc)))
            continue
        if name is None or not text:
            continue
        if name == "":
            if len(header.strip()) > MAX_ATTRIBUTE_NAME or len(text) > MAX_ATTRIBUTE_VALUE:
                errors.append(RowError(number, header[:100], _(
                    "An extra column is kept as an attribute: its name up to %(name)s characters, its value up to "
                    "%(value)s.") % {"name": MAX_ATTRIBUTE_NAME, "value": MAX_ATTRIBUTE_VALUE}))
            else:
                extra[header.strip()] = text
            continue
        column = importer.column(name)
        try:
            values[name] = PARSERS[column.type](column, text)
        except CellError as exc:
            errors.append(RowError(number, name, str(exc)))
    failed = {e.column for e in errors}
    for column in importer.columns:
        if column.required and column.name not in values and column.name not in failed:
            errors.append(RowError(number, column.name, _("Required: this column cannot be empty.")))
    for group in importer.natural_key:
        if not any(name in values or name in failed for name in group):
            errors.append(RowError(number, group[0], ngettext_key(group)))
    if errors:
        return None, errors
    return Row(number=number, values=values, extra=extra), []


def ngettext_key(group: tuple[str, ...]) -> str:
    if len(group) == 1:
        return _("Required: %(column)s identifies the record.") % {"column": group[0]}
    return _("Give one of %(columns)s: they identify the record.") % {"columns": ", ".join(group)}
