"""What every selector returns: a table of plain values.

The HTML table, the CSV export and the API all read the same `Table`, so they cannot disagree.
Numbers are rounded once, here, when a row is built; units live in the column labels
("Coverage %", "Median to close (business h)"), so a cell is the bare number in every format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.template import engines
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from core.csv_export import csv_text


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False


@dataclass
class Table:
    """`rows` are dicts keyed by column key; `links` (same index as rows) map a column key to the
    inbox URL that lists the cases behind that figure."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    description: str = ""

    def add(self, row: dict, links: dict[str, str] | None = None) -> None:
        self.rows.append(row)
        self.links.append(links or {})

    def cells(self):
        """(column, text, url) per cell, row by row: what the template renders."""
        for row, links in zip(self.rows, self.links, strict=True):
            yield [(col, cell_text(row.get(col.key)), links.get(col.key)) for col in self.columns]

    def rows_html(self) -> SafeString:
        """The HTML table's body rows (templates/reporting/_table.html prints them): rendered by
        Jinja2 from cells prepared here, since a thousand cells through Django's template engine
        (a tag and two filters each) were most of the root-causes page's time. Same markup, every
        value escaped (autoescape is on)."""
        rows = [
            [
                (i == 0, col.numeric, text, url if url and text and text != "0" else None)
                for i, (col, text, url) in enumerate(cells)
            ]
            for cells in self.cells()
        ]
        template = engines["jinja2"].get_template("reporting/table_rows.html")
        return mark_safe(template.render({"rows": rows, "no_data": gettext("no data")}))

    def to_csv(self) -> str:
        """Formula-looking cells are neutralised (core.csv_export, OWASP's CSV injection advice)."""
        return csv_text(
            [col.label for col in self.columns],
            ([cell_text(row.get(col.key)) for col in self.columns] for row in self.rows),
        )

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "columns": [{"key": c.key, "label": c.label, "numeric": c.numeric} for c in self.columns],
            "rows": [{c.key: json_value(row.get(c.key)) for c in self.columns} for row in self.rows],
            "links": self.links,
        }


def cell_text(value) -> str:
    """The text of one cell, identical in the HTML table and the CSV file. Missing is blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}" if value == value else ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def json_value(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"  # money as an exact decimal string, as DRF serializes decimals
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def pct(part: int | float, whole: int | float) -> float | None:
    """Share as a percentage rounded to one decimal; None when there is nothing to divide."""
    if not whole:
        return None
    return round(100.0 * part / whole, 1)


def one_decimal(value) -> float | None:
    return None if value is None else round(float(value), 1)
