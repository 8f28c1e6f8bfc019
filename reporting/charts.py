"""Geometry for the server-rendered SVG charts (templates/reporting/charts/*.html).

Charts are drawn on the server from the same Table the page shows beside them: no JavaScript,
nothing to download, they print, and the Content-Security-Policy (scripts from our own files
only) needs no exception. Every bar and point carries its number as text, so nothing is told by
colour or length alone."""

from __future__ import annotations

import math
from dataclasses import dataclass

from reporting.tables import Column, Table, cell_text


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    width: float  # 0..100, share of the longest bar
    url: str | None = None
    note: str = ""


def bars(table: Table, label_key: str, value_key: str, note_key: str | None = None, note_words=None,
         skip_labels: tuple[str, ...] = ()) -> list[Bar]:
    """One horizontal bar per row (rows whose label is in skip_labels, e.g. a total, left out).
    `note_words(value, text)`: the note beside the bar in the reader's language, from the note
    column's value and its formatted text ("12 low scores"); without it, the text alone."""
    items = []
    for row, links in zip(table.rows, table.links, strict=True):
        if row.get(label_key) in skip_labels:
            continue
        value = float(row.get(value_key) or 0)
        note = ""
        if note_key and row.get(note_key) is not None:
            text = cell_text(row.get(note_key))
            note = note_words(row.get(note_key), text) if note_words else text
        items.append((str(row.get(label_key)), value, cell_text(row.get(value_key)) or "0", links.get(value_key), note))
    top = max((v for _, v, _, _, _ in items), default=0) or 1
    return [Bar(label, v, text, round(100 * v / top, 1), url, note) for label, v, text, url, note in items]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    text: str
    show_label: bool
    show_value: bool = True  # crowded lines print values only at labelled points (all are in the table)


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    points: list[Point]
    polyline: str
    gridlines: list[tuple[float, str]]  # (y, label)
    zero_y: float | None


AXIS_CHAR_PX = 7  # the axis labels' 12 px font: about 7 px per character (digits and dashes)
AXIS_GAP_PX = 12


def label_every(labels: list[str], step: float, max_labels: int | None = None) -> int:
    """Print every n-th x label so neighbours never overlap: the widest label plus a gap must fit
    in n steps between points (and at most `max_labels` labels when given)."""
    widest = max((len(label) for label in labels), default=0) * AXIS_CHAR_PX + AXIS_GAP_PX
    every = max(1, math.ceil(widest / step)) if step > 0 else len(labels) or 1
    if max_labels:
        every = max(every, math.ceil(len(labels) / max_labels))
    return every


def line(table: Table, label_key: str, value_key: str, y_min: float, y_max: float,
         ticks: tuple[float, ...] = (), width: int = 640, height: int = 220, max_labels: int | None = None,
         newest_first: bool = False) -> LineChart | None:
    """A line over the rows that have a value (`newest_first`: the table lists periods newest
    first, the line runs left to right in time); None without a point. x labels are printed
    every n points, counted back from the last (always labelled), n chosen so labels never
    overlap (label_every)."""
    left, right, top, bottom = 44, 12, 16, 40
    values = [(str(r.get(label_key)), r.get(value_key)) for r in table.rows]
    values = [(lbl, float(v)) for lbl, v in values if v is not None]
    if newest_first:
        values.reverse()
    if not values:
        return None
    span = (y_max - y_min) or 1
    inner_w = width - left - right
    inner_h = height - top - bottom
    step = inner_w / max(len(values) - 1, 1)
    every = label_every([lbl for lbl, _ in values], step if len(values) > 1 else inner_w, max_labels)
    last = len(values) - 1

    def y_of(v: float) -> float:
        return round(top + inner_h * (1 - (v - y_min) / span), 1)

    texts = [cell_text(v) for _, v in values]
    crowded = label_every(texts, step if len(values) > 1 else inner_w) > 1
    points = [
        Point(round(left + i * step if len(values) > 1 else left + inner_w / 2, 1), y_of(v), lbl, text,
              show_label=(last - i) % every == 0, show_value=not crowded or (last - i) % every == 0)
        for i, ((lbl, v), text) in enumerate(zip(values, texts, strict=True))
    ]
    return LineChart(
        width=width,
        height=height,
        points=points,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        gridlines=[(y_of(t), f"{t:g}") for t in ticks],
        zero_y=y_of(0) if y_min < 0 < y_max else None,
    )


def heat_level(value, top) -> int:
    """0..5 shade for a heat-map cell; the number is always printed in the cell too."""
    if not value or not top:
        return 0
    return max(1, min(5, round(5 * value / top)))


@dataclass(frozen=True)
class SmallMultiple:
    title: str
    total: str
    chart: LineChart | None
    url: str | None = None


def row_lines(table: Table, label_key: str, total_key: str, limit: int = 6, width: int = 320,
              height: int = 160) -> list[SmallMultiple]:
    """One small line chart per row (the first `limit` rows) over the table's period columns (every
    numeric column but the total), all on the same 0..max scale so their heights compare."""
    # In time order (the table lists its weeks newest first; the keys sort by date).
    periods = sorted((c for c in table.columns if c.numeric and c.key != total_key), key=lambda c: c.key)
    rows = list(zip(table.rows, table.links, strict=True))[:limit]
    top = max((float(r.get(c.key) or 0) for r, _ in rows for c in periods), default=0) or 1
    charts = []
    for row, links in rows:
        series = Table("series", "", [Column("period", ""), Column("n", "", True)])
        for col in periods:
            series.add({"period": col.label, "n": row.get(col.key) or 0})
        charts.append(SmallMultiple(
            title=str(row.get(label_key)), total=cell_text(row.get(total_key)),
            chart=line(series, "period", "n", 0, top, ticks=(0, top), width=width, height=height),
            url=links.get(total_key),
        ))
    return charts
