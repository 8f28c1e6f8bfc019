"""The weekly business-hours editor and the stored opening hours, both ways.

The editor shows per weekday a few rows of (start, end, "ends next day"); the clocks
(cases/calendar.py) read per weekday a list of ["HH:MM", "HH:MM"] spans that end after they start.
An overnight row (Monday 22:00 → 06:00, "ends next day" ticked) is stored as Monday 22:00-24:00
plus Tuesday 00:00-06:00, and shown again as one overnight row."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.validation import DAY_NAMES, WEEKDAYS, parse_time, time_problem


@dataclass
class Row:
    start: str = ""
    end: str = ""
    overnight: bool = False


def editor_rows(opening_hours: dict | None) -> dict[str, list[Row]]:
    """Rows for the editor: each stored X-24:00 span followed by a 00:00-Y span on the next day
    becomes one overnight row on the first day."""
    stored = {day: [list(span) for span in (opening_hours or {}).get(day) or []
                    if isinstance(span, (list, tuple)) and len(span) == 2] for day in WEEKDAYS}
    for spans in stored.values():
        spans.sort(key=lambda span: str(span[0]))
    tails: dict[tuple[str, int], tuple[str, int]] = {}  # (day, i) of an X-24:00 span -> its next-day tail
    taken: set[tuple[str, int]] = set()
    for index, day in enumerate(WEEKDAYS):
        following = WEEKDAYS[(index + 1) % 7]
        for i, (start, end) in enumerate(stored[day]):
            if end != "24:00" or start == "00:00":
                continue
            tail = next((j for j, span in enumerate(stored[following])
                         if span[0] == "00:00" and span[1] != "24:00" and (following, j) not in taken), None)
            if tail is not None:
                tails[(day, i)] = (following, tail)
                taken.add((following, tail))
    rows: dict[str, list[Row]] = {day: [] for day in WEEKDAYS}
    for day in WEEKDAYS:
        for i, (start, end) in enumerate(stored[day]):
            if (day, i) in taken:
                continue
            if (day, i) in tails:
                tail_day, j = tails[(day, i)]
                rows[day].append(Row(str(start), str(stored[tail_day][j][1]), True))
            else:
                rows[day].append(Row(str(start), str(end), False))
    return rows


def stored_hours(rows: dict[str, list[Row]]) -> tuple[dict, dict[str, str]]:
    """(opening hours as the clocks read them, {"<day>-<n>-<start|end>": message}) from editor rows."""
    hours: dict[str, list[list[str]]] = {day: [] for day in WEEKDAYS}
    errors: dict[str, str] = {}
    for index, day in enumerate(WEEKDAYS):
        following = WEEKDAYS[(index + 1) % 7]
        for n, row in enumerate(rows.get(day, [])):
            start, end = row.start.strip(), row.end.strip()
            key = f"{day}-{n}"
            if not start and not end:
                continue
            if not start or not end:
                errors[f"{key}-{'start' if not start else 'end'}"] = "Give both the start and the end, or clear both."
                continue
            problem_start, problem_end = time_problem(start), time_problem(end, end=True)
            if problem_start or problem_end:
                if problem_start:
                    errors[f"{key}-start"] = problem_start
                if problem_end:
                    errors[f"{key}-end"] = problem_end
                continue
            begins, ends = parse_time(start), parse_time(end, end=True)
            if row.overnight:
                if ends > begins:
                    errors[f"{key}-end"] = (f"{start}–{end} ends the same day: untick “ends next day”, "
                                            "or give an end earlier than the start.")
                    continue
                hours[day].append([start, "24:00"])
                if ends > 0:
                    hours[following].append(["00:00", end])
            elif ends <= begins:
                errors[f"{key}-end"] = (f"{start}–{end} ends before it starts: tick “ends next day” for an "
                                        f"overnight shift ({DAY_NAMES[day]} {start} to {DAY_NAMES[following]} {end}).")
            else:
                hours[day].append([start, end])
    for spans in hours.values():
        spans.sort()
    return hours, errors
