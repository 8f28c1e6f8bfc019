"""Reporting's read models: what the report pages read instead of scanning every case."""

from __future__ import annotations

from django.db import models


class ClosureRollup(models.Model):
    """Closed cases per local day of closure, team, root cause and the survey and touchpoint of
    the response that opened them, with that response's score sums: what the root-causes page's
    Pareto, weekly, heat-map and score panels read instead of every closed case.

    Written only by the database triggers of reporting.rollups (every change to a case's status,
    closure time, team, root cause, opening response or prevention, and every change to the
    scores of a response that opened a closed case, adds a signed delta row), folded by
    `reporting.rollups.compact()`: a key may have several rows at any moment, so readers SUM.
    The recovery page's "answered again" tables read it too (answered_again and the sums after it)."""

    day = models.DateField()
    team_id = models.IntegerField()
    root_cause_id = models.IntegerField(null=True)
    survey_id = models.IntegerField()
    touchpoint = models.CharField(max_length=120)
    cases = models.BigIntegerField()
    with_prevention = models.BigIntegerField()
    nps_n = models.BigIntegerField()
    nps_sum = models.BigIntegerField()
    csat_n = models.BigIntegerField()
    csat_pct_n = models.BigIntegerField()
    csat_pct_sum = models.FloatField()
    ces_n = models.BigIntegerField()
    ces_ease_n = models.BigIntegerField()
    ces_ease_sum = models.FloatField()
    # Recovery: closed cases answered again after the closure (NPS), the opening and later scores
    # summed, detractors before and those no longer detractors after (reporting.rollups._values).
    answered_again = models.BigIntegerField(default=0)
    before_sum = models.BigIntegerField(default=0)
    after_sum = models.BigIntegerField(default=0)
    detractors_before = models.BigIntegerField(default=0)
    recovered = models.BigIntegerField(default=0)
    fresh = models.BooleanField(
        default=True, help_text="A delta not yet folded by compact()."
    )

    class Meta:
        indexes = [
            # A manager's teams over the period: covering, an index-only scan of the page's rows.
            models.Index(
                fields=["team_id", "day"],
                name="reporting_closure_team_day",
                include=[
                    "root_cause_id",
                    "survey_id",
                    "touchpoint",
                    "cases",
                    "with_prevention",
                    "nps_n",
                    "nps_sum",
                    "csat_n",
                    "csat_pct_n",
                    "csat_pct_sum",
                    "ces_n",
                    "ces_ease_n",
                    "ces_ease_sum",
                    "answered_again",
                    "before_sum",
                    "after_sum",
                    "detractors_before",
                    "recovered",
                ],
            ),
            # Every team (an admin's reports) over the period.
            models.Index(fields=["day"], name="reporting_closure_day"),
            # compact(): the deltas not folded yet.
            models.Index(
                fields=["day"],
                name="reporting_closure_fresh",
                condition=models.Q(fresh=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} team {self.team_id} cause {self.root_cause_id} {self.touchpoint}: {self.cases}"


class ScoreTotal(models.Model):
    """The daily score rollup (surveys.ScoreRollup) summed over every team: the same counts per
    local day, survey, source and touchpoint, what an admin's journey map reads for "every team"
    (about 50 times fewer rows than the per-team rollup with 50 teams). Written only by the
    database triggers of reporting.score_totals (a signed delta per key a statement touches; a
    response moved between teams changes no count here), folded by its compact(): readers SUM."""

    day = models.DateField()
    survey_id = models.IntegerField()
    source_id = models.IntegerField()
    touchpoint = models.CharField(max_length=120)
    responses = models.BigIntegerField()
    nps_n = models.BigIntegerField()
    promoters = models.BigIntegerField()
    passives = models.BigIntegerField()
    detractors = models.BigIntegerField()
    csat_n = models.BigIntegerField()
    csat_top2 = models.BigIntegerField()
    ces_n = models.BigIntegerField()
    ces_ease_n = models.BigIntegerField()
    ces_ease_sum = models.FloatField()
    ces_high_effort = models.BigIntegerField()
    index_n = models.BigIntegerField()
    index_sum = models.FloatField()
    fresh = models.BooleanField(default=True, help_text="A delta not yet folded by compact().")

    class Meta:
        indexes = [
            # The period's rows with every count: an index-only scan.
            models.Index(fields=["day"], name="reporting_scoretotal_day",
                         include=["survey_id", "source_id", "touchpoint", "responses", "nps_n", "promoters",
                                  "passives", "detractors", "csat_n", "csat_top2", "ces_n", "ces_ease_n",
                                  "ces_ease_sum", "ces_high_effort", "index_n", "index_sum"]),
            models.Index(fields=["day"], name="reporting_scoretotal_fresh", condition=models.Q(fresh=True)),
        ]

    def __str__(self) -> str:
        return f"{self.day} survey {self.survey_id} {self.touchpoint}: {self.responses}"
