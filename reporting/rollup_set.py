"""Every rollup of signed deltas, in one list: what the beat task folds every minute
(reporting.tasks.rollups_compact_task) and `manage.py rollups` folds or rebuilds. Each module has
compact() and rebuild() (core.rollup_triggers). A new rollup is added here once."""

from __future__ import annotations

from typing import Protocol


class Rollup(Protocol):
    """A rollup's module, or one level of one (reporting.score_totals.Totals, reporting.theme_rollup.Level, reporting.rollups.Level)."""

    def compact(self) -> int: ...

    def rebuild(self) -> int: ...


def rollups() -> tuple[tuple[str, str, Rollup], ...]:
    """(key in the task's result, name in the command's output, module) for each rollup."""
    from reporting import rollups as closures
    from reporting import last_answers, score_totals, theme_rollup
    from surveys import rollups as scores

    return (("scores", "score", scores), ("closures", "closure", closures.ROLLUP),
            ("closure_totals", "every-team closure", closures.TOTALS),
            ("score_totals", "every-team score", score_totals),
            ("location_totals", "every-team location", score_totals.LOCATIONS),
            ("segment_rollup", "segment", score_totals.SEGMENTS), ("themes", "theme", theme_rollup.ROLLUP),
            ("theme_totals", "every-team theme", theme_rollup.TOTALS),
            ("last_answer_days", "latest answers' day", last_answers.DAYS))
