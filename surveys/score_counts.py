"""The daily score counts the reports read instead of every response: ScoreRollup per team, survey
and touchpoint (kept by the triggers of surveys.rollups), and the abstract ScoreCounts it shares with
reporting.ScoreTotal. Models of the surveys app (imported by surveys.models), kept beside it."""

from __future__ import annotations

from django.db import models


class ScoreCounts(models.Model):
    """A day's score counts, as signed deltas: ScoreRollup (per team), reporting.ScoreTotal (all)."""

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
    # The journey map's score index (0-100 per answer: CSAT % of scale, else CES ease %, else NPS x 10).
    index_n = models.BigIntegerField()
    index_sum = models.FloatField()
    fresh = models.BooleanField(default=True, help_text="A delta not yet folded by compact().")

    class Meta:
        abstract = True


class ScoreRollup(ScoreCounts):
    """Score counts of the responses answered on one local day per team, survey (and source) and
    touchpoint, which the Scores page and the trend API read instead of every response. Written only
    by the triggers of surveys.rollups, folded by `compact()`: readers SUM. Team and survey are plain
    ids: a deleted team's responses move to no team through the triggers."""

    day = models.DateField()
    team_id = models.IntegerField(null=True)
    survey_id = models.IntegerField()
    source_id = models.IntegerField()  # the survey's source (a journey stage may be mapped to a source)
    touchpoint = models.CharField(max_length=120)
    # The themes page's share of comments and "All responses" sentiment (not in reporting.ScoreTotal).
    commented = models.BigIntegerField(default=0)  # with a comment
    sentiment_n = models.BigIntegerField(default=0)  # with a sentiment
    sentiment_sum = models.FloatField(default=0.0)
    # The KPI page's low scores and those a case covers (reporting.selectors.scoring.low_score_q,
    # covered_q; not in reporting.ScoreTotal).
    low = models.BigIntegerField(default=0)
    low_covered = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            # A manager's teams over the period (Scores page, trend API): covering, an index-only scan.
            models.Index(fields=["team_id", "day"], name="surveys_scorerollup_team_day",
                         include=["survey_id", "source_id", "touchpoint", "responses", "nps_n", "promoters", "passives",
                                  "detractors", "csat_n", "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum",
                                  "ces_high_effort", "index_n", "index_sum"]),
            # Every team (an admin's reports) over the period.
            models.Index(fields=["day"], name="surveys_scorerollup_day"),
            # compact(): the deltas not folded yet.
            models.Index(fields=["day"], name="surveys_scorerollup_fresh", condition=models.Q(fresh=True)),
        ]

    def __str__(self) -> str:
        return f"{self.day} team {self.team_id} survey {self.survey_id} {self.touchpoint}: {self.responses}"
