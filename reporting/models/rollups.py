"""The rollups of signed deltas (summed by readers, folded by the beat): per day and key, what the report
pages sum instead of scanning every response, case and tag; and each customer's latest answer."""

from __future__ import annotations

from django.db import models

from surveys.models import ScoreCounts


class ClosureCounts(models.Model):
    """A closure level's root-cause counts (reporting.rollups.CLOSURE_COUNTS), its rows signed
    deltas until folded."""

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
    fresh = models.BooleanField(default=True, help_text="A delta not yet folded by compact().")

    class Meta:
        abstract = True


class ClosureRollup(ClosureCounts):
    """Closed cases per local day of closure, team, root cause and the survey and touchpoint of
    the response that opened them, with that response's score sums: what the root-causes page's
    Pareto, weekly, heat-map and score panels read instead of every closed case.

    Written only by the database triggers of reporting.rollups (every change to a case's status,
    closure time, team, root cause, opening response or prevention, and every change to the
    scores of a response that opened a closed case, adds a signed delta row), folded by
    `reporting.rollups.ROLLUP.compact()`: a key may have several rows at any moment, so readers SUM.
    The recovery page's "answered again" tables read it too (answered_again and the sums after it)."""

    day = models.DateField()
    team_id = models.IntegerField()
    root_cause_id = models.IntegerField(null=True)
    survey_id = models.IntegerField()
    touchpoint = models.CharField(max_length=120)
    # Recovery: closed cases answered again after the closure (NPS), the opening and later scores
    # summed, detractors before and those no longer detractors after (reporting.rollups._values).
    answered_again = models.BigIntegerField(default=0)
    before_sum = models.BigIntegerField(default=0)
    after_sum = models.BigIntegerField(default=0)
    detractors_before = models.BigIntegerField(default=0)
    recovered = models.BigIntegerField(default=0)

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


class ClosureTotal(ClosureCounts):
    """The closure rollup's root-cause counts summed over every team, per local day of closure,
    root cause, the opening response's touchpoint and the case's segment bits
    (reporting.segment_bits): what an admin's root-causes page narrowed to a segment reads (the bit
    patterns holding the segment's bit) instead of joining the period's closed cases to their
    responses. Written only by the triggers of reporting.rollups (TOTALS), folded by its compact():
    readers SUM."""

    day = models.DateField()
    root_cause_id = models.IntegerField(null=True)
    touchpoint = models.CharField(max_length=120)
    segment_bits = models.BigIntegerField()

    class Meta:
        indexes = [
            # Every team over the period, narrowed to the bit patterns of a segment: covering.
            models.Index(fields=["day"], name="reporting_closuretotal_day",
                         include=["root_cause_id", "touchpoint", "segment_bits", "cases", "with_prevention", "nps_n",
                                  "nps_sum", "csat_n", "csat_pct_n", "csat_pct_sum", "ces_n", "ces_ease_n",
                                  "ces_ease_sum"]),
            # compact(): the deltas not folded yet.
            models.Index(fields=["day"], name="reporting_closuretotal_fresh", condition=models.Q(fresh=True)),
        ]

    def __str__(self) -> str:
        return f"{self.day} cause {self.root_cause_id} bits {self.segment_bits} {self.touchpoint}: {self.cases}"


class ScoreTotal(ScoreCounts):
    """The daily score rollup (surveys.ScoreRollup) summed over every team: the same counts per
    local day, survey, source, touchpoint and segment bits, what an admin's journey map reads for "every team"
    (about 50 times fewer rows than the per-team rollup with 50 teams). Written only by the
    database triggers of reporting.score_totals (a signed delta per key a statement touches; a
    response moved between teams changes no count here), folded by its compact(): readers SUM."""

    day = models.DateField()
    survey_id = models.IntegerField()
    source_id = models.IntegerField()
    touchpoint = models.CharField(max_length=120)
    # The responses' segment bits (reporting.segment_bits, reporting 0015): an admin's scores by or
    # narrowed to a segment sum the rows of the bit patterns that hold its bit.
    segment_bits = models.BigIntegerField(default=0, db_default=0)
    # The KPI page's low scores and those a case covers (reporting 0016), as the score rollup's.
    low = models.BigIntegerField(default=0, db_default=0)
    low_covered = models.BigIntegerField(default=0, db_default=0)
    # The answers a case covers, low or not (reporting 0020): the segment comparison's case rate.
    covered = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        indexes = [
            # The period's rows with every count: an index-only scan.
            models.Index(fields=["day"], name="reporting_scoretotal_day",
                         include=["survey_id", "source_id", "touchpoint", "segment_bits", "responses", "nps_n", "promoters",
                                  "passives", "detractors", "csat_n", "csat_top2", "ces_n", "ces_ease_n",
                                  "ces_ease_sum", "ces_high_effort", "index_n", "index_sum", "low", "low_covered",
                                  "covered"]),
            models.Index(fields=["day"], name="reporting_scoretotal_fresh", condition=models.Q(fresh=True)),
        ]

    def __str__(self) -> str:
        return f"{self.day} survey {self.survey_id} {self.touchpoint}: {self.responses}"


class LocationTotal(ScoreCounts):
    """The score rollup's counts summed over every team per local day, survey, touchpoint and
    location: what an admin's scores and KPIs by location, or narrowed to a location, sum instead of
    every team's responses (the per-team rollup is not keyed by location; an admin's 90 days at 10M
    responses are 2.5 million answers and some 97,000 rows here). Written only by the database
    triggers of reporting.score_totals (LOCATIONS), folded by its compact(): readers SUM."""

    day = models.DateField()
    survey_id = models.IntegerField()
    touchpoint = models.CharField(max_length=120)
    location = models.CharField(max_length=120)
    low = models.BigIntegerField(default=0)  # the KPI page's low scores and those a case covers
    low_covered = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            # The period's rows with every count: an index-only scan.
            models.Index(fields=["day"], name="reporting_locationtotal_day",
                         include=["survey_id", "touchpoint", "location", "responses", "nps_n", "promoters", "passives",
                                  "detractors", "csat_n", "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum",
                                  "ces_high_effort", "index_n", "index_sum", "low", "low_covered"]),
            models.Index(fields=["day"], name="reporting_locationtotal_fresh", condition=models.Q(fresh=True)),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.location} survey {self.survey_id} {self.touchpoint}: {self.responses}"


class SegmentRollup(ScoreCounts):
    """The score counts (and the KPI page's low scores and their coverage, the Themes page's comments
    and sentiment) per local day, team and segment bits: what a report narrowed to a segment with a
    built bit sums, by team, week or month (a manager's KPIs, scores and themes' "All responses" of
    their teams, an admin's by team), where the score rollup has no bits in its key and the
    every-team totals no team. Some 53,000 rows for 90 days at 10M (50 teams, 12 bit patterns a
    day) where the segment's answers are hundreds of thousands. Written only by the database
    triggers of reporting.score_totals (SEGMENTS), folded by its compact(): readers SUM."""

    day = models.DateField()
    team_id = models.IntegerField(null=True)
    segment_bits = models.BigIntegerField(default=0)
    low = models.BigIntegerField(default=0)
    low_covered = models.BigIntegerField(default=0)
    # The Themes page's share of comments and its "All responses" sentiment, as the score rollup's.
    commented = models.BigIntegerField(default=0)
    sentiment_n = models.BigIntegerField(default=0)
    sentiment_sum = models.FloatField(default=0.0)

    class Meta:
        indexes = [
            # The period's rows of the teams with every count: an index-only scan.
            models.Index(fields=["day", "team_id"], name="reporting_segmentrollup_day",
                         include=["segment_bits", "responses", "nps_n", "promoters", "passives", "detractors", "csat_n",
                                  "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum", "ces_high_effort", "index_n",
                                  "index_sum", "low", "low_covered", "commented", "sentiment_n", "sentiment_sum"]),
            models.Index(fields=["day"], name="reporting_segmentrollup_fresh", condition=models.Q(fresh=True)),
        ]

    def __str__(self) -> str:
        return f"{self.day} team {self.team_id} bits {self.segment_bits}: {self.responses}"


class CustomerLastAnswer(models.Model):
    """A customer's newest answer, of any team, with the customer's segment bits: what an admin's
    segment comparison counts the customers who answered in the period from (1,000,000 narrow rows
    where the period's answers are 2,500,000 at 10M). Written only by the database triggers of
    reporting.last_answers (PostgreSQL; the bits by reporting.segment_bits'); empty on SQLite."""

    customer_id = models.BigIntegerField(primary_key=True)
    answered_at = models.DateTimeField()
    segment_bits = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        indexes = [
            # The customers whose newest answer is in a period, with their bits: an index-only scan.
            models.Index(fields=["answered_at"], include=["segment_bits"], name="reporting_lastanswer_at"),
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} answered {self.answered_at}"


class LastAnswerDay(models.Model):
    """The customers whose latest answer (CustomerLastAnswer) is on a local day, per segment bits:
    what an admin's segment comparison sums for a period of whole local days. Written only by the
    database triggers of reporting.last_answers (DAYS: signed deltas), folded by its compact():
    readers SUM. PostgreSQL only, like the latest answers."""

    day = models.DateField()
    segment_bits = models.BigIntegerField()
    customers = models.BigIntegerField()
    fresh = models.BooleanField(default=True, help_text="A delta not yet folded by compact().")

    class Meta:
        indexes = [
            models.Index(fields=["day"], include=["segment_bits", "customers"], name="reporting_lastanswerday_day"),
            models.Index(fields=["day"], name="reporting_lastanswerday_fresh", condition=models.Q(fresh=True)),
        ]

    def __str__(self) -> str:
        return f"{self.day} bits {self.segment_bits}: {self.customers}"


class ThemeCounts(models.Model):
    """A theme level's counts (reporting.theme_rollup.COUNTS), its rows signed deltas until folded."""

    tags = models.BigIntegerField()  # tagged responses (one per theme of a response)
    unsolicited = models.BigIntegerField()  # of them, feedback nobody asked for (feedback_kind not survey)
    rated = models.BigIntegerField()  # with a sentiment
    positive = models.BigIntegerField()  # surveys.vocabulary's sentiment bands
    negative = models.BigIntegerField()
    sentiment_sum = models.FloatField()
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
    fresh = models.BooleanField(default=True, help_text="A delta not yet folded by compact().")

    class Meta:
        abstract = True


class ThemeRollup(ThemeCounts):
    """Theme tags (surveys.ResponseTheme) per local day of the tag's answered_at, theme, and the
    team, survey and touchpoint of the tagged response, with that response's sentiment and score
    counts: what the themes page and its API reports read instead of joining every tag to its
    response. Written only by the database triggers of reporting.theme_rollup (on the tags and on
    the responses: a signed delta per key a statement touches), folded by its compact(): readers SUM."""

    day = models.DateField()
    theme_id = models.IntegerField()
    team_id = models.IntegerField(null=True)
    survey_id = models.IntegerField()
    touchpoint = models.CharField(max_length=120)

    class Meta:
        indexes = [
            # A manager's teams over the period: covering, an index-only scan.
            models.Index(fields=["team_id", "day"], name="reporting_themerollup_team_day",
                         include=["theme_id", "survey_id", "touchpoint", "tags", "unsolicited", "rated", "positive",
                                  "negative", "sentiment_sum", "nps_n", "promoters", "passives", "detractors",
                                  "csat_n", "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum", "ces_high_effort"]),
            # Every team (an admin's reports) over the period.
            models.Index(fields=["day"], name="reporting_themerollup_day"),
            # A theme over a period, every team (an organisation-wide action plan): index-only.
            models.Index(fields=["theme_id", "day"], name="reporting_themeroll_theme_day",
                         include=["team_id", "touchpoint", "tags", "nps_n", "promoters", "passives", "detractors",
                                  "csat_n", "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum", "ces_high_effort"]),
            # compact(): the deltas not folded yet.
            models.Index(fields=["day"], name="reporting_themerollup_fresh", condition=models.Q(fresh=True)),
        ]

    def __str__(self) -> str:
        return f"{self.day} theme {self.theme_id} team {self.team_id} {self.touchpoint}: {self.tags}"


class ThemeTotal(ThemeCounts):
    """ThemeRollup's counts summed over every team, per local day, theme, touchpoint and the tagged
    responses' segment bits (reporting.segment_bits): what an admin's themes page narrowed to a
    segment reads (the bit patterns holding the segment's bit) instead of joining the period's tags
    to their responses. Written only by the triggers of reporting.theme_rollup (TOTALS), folded by
    its compact(): readers SUM."""

    day = models.DateField()
    theme_id = models.IntegerField()
    touchpoint = models.CharField(max_length=120)
    segment_bits = models.BigIntegerField()

    class Meta:
        indexes = [
            # Every team over the period, narrowed to the bit patterns of a segment: covering.
            models.Index(fields=["day"], name="reporting_themetotal_day",
                         include=["theme_id", "touchpoint", "segment_bits", "tags", "unsolicited", "rated", "positive",
                                  "negative", "sentiment_sum", "nps_n", "promoters", "passives", "detractors",
                                  "csat_n", "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum", "ces_high_effort"]),
            # compact(): the deltas not folded yet.
            models.Index(fields=["day"], name="reporting_themetotal_fresh", condition=models.Q(fresh=True)),
        ]

    def __str__(self) -> str:
        return f"{self.day} theme {self.theme_id} bits {self.segment_bits} {self.touchpoint}: {self.tags}"
