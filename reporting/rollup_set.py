"""Every rollup of signed deltas, in one list: what the beat task folds every minute
(reporting.tasks.rollups_compact_task) and `manage.py rollups` folds or rebuilds. Each module has
compact() and rebuild() (core.rollup_triggers). A new rollup is added here once."""

from __future__ import annotations

from types import ModuleType


def rollups() -> tuple[tuple[str, str, ModuleType], ...]:
    """(key in the task's result, name in the command's output, module) for each rollup."""
    from reporting import rollups as closures
    from reporting import score_totals, theme_rollup
    from surveys import rollups as scores

    return (("scores", "score", scores), ("closures", "closure", closures),
            ("score_totals", "every-team score", score_totals), ("themes", "theme", theme_rollup))
