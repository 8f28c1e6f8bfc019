"""Reporting's read models: what the report pages read instead of scanning every case."""

from __future__ import annotations

from django.db import models

from surveys.models import ScoreCounts


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


class ThemeRollup(models.Model):
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


class AnswerFollowUp(models.Model):
    """What one NPS answer (with a customer) was followed by: the closed-loop results report's unit,
    stored (reporting.followups explains every column and how the rows are kept exact). The
    customer's latest answer in a period [start, end) in a team is the row with start <=
    answered_at < end <= reign_ends_at. No foreign keys: a read model, rewritten per customer."""

    response_id = models.BigIntegerField(primary_key=True)
    customer_id = models.BigIntegerField()
    team_id = models.BigIntegerField(null=True)
    answered_at = models.DateTimeField()
    reign_ends_at = models.DateTimeField(
        help_text="The customer's next NPS answer in the same team, or reporting.followups.FAR_FUTURE.")
    group = models.CharField(max_length=20, db_column="grp")
    root_cause_id = models.BigIntegerField(null=True)  # of the first case opened from a detractor's answer
    churned_90 = models.SmallIntegerField()
    revenue_90 = models.DecimalField(max_digits=21, decimal_places=3)
    other_90 = models.IntegerField()  # events in other currencies than OUTCOMES_REPORT_CURRENCY
    churned_180 = models.SmallIntegerField()
    revenue_180 = models.DecimalField(max_digits=21, decimal_places=3)
    other_180 = models.IntegerField()
    churned_365 = models.SmallIntegerField()
    revenue_365 = models.DecimalField(max_digits=21, decimal_places=3)
    other_365 = models.IntegerField()

    class Meta:
        indexes = [
            # The results report: a team's rows whose reign outlasts the period's end (then the
            # period's start and end on answered_at), covering, so the page is an index-only scan.
            models.Index(fields=["team_id", "reign_ends_at"], name="reporting_followup_team_reign",
                         include=["answered_at", "customer_id", "response_id", "group", "root_cause_id", "churned_90",
                                  "revenue_90",
                                  "other_90", "churned_180", "revenue_180", "other_180", "churned_365",
                                  "revenue_365", "other_365"]),
            # reporting.followups: a customer's rows rewritten.
            models.Index(fields=["customer_id"], name="reporting_followup_customer"),
        ]

    def __str__(self) -> str:
        return f"answer {self.response_id} of customer {self.customer_id}: {self.group}"


class FollowUpStale(models.Model):
    """A customer whose AnswerFollowUp rows a write made out of date: inserted by the triggers of
    reporting.followups in the writer's transaction, removed by followups.fold() once the rows are
    recomputed. Until then the results report computes the customer from the source rows."""

    customer_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["customer_id"], name="reporting_stale_customer")]

    def __str__(self) -> str:
        return f"customer {self.customer_id}"


class AnswerBreach(models.Model):
    """An answer that broke a rule of the contact policy when it arrived, under the policy recorded
    in BreachPolicy (reporting.contact_breaches explains how the rows are kept): the Contact
    report's breach tables read these rows instead of joining every answer of the period to its
    customer's cases and earlier answers. Only breaching answers have a row. No foreign keys: a
    read model, rewritten per customer."""

    response_id = models.BigIntegerField(primary_key=True)
    customer_id = models.BigIntegerField()
    team_id = models.BigIntegerField(null=True)
    answered_at = models.DateTimeField()
    open_case = models.BooleanField()
    recently_closed = models.BooleanField()
    frequency = models.BooleanField()

    class Meta:
        indexes = [
            # The Contact report: a team's (or every team's) breaching answers of the period, covering.
            models.Index(fields=["team_id", "answered_at"], name="reporting_breach_team_time",
                         include=["response_id", "customer_id", "open_case", "recently_closed", "frequency"]),
            models.Index(fields=["answered_at"], name="reporting_breach_time",
                         include=["response_id", "customer_id", "team_id", "open_case", "recently_closed",
                                  "frequency"]),
            # reporting.contact_breaches: a customer's rows rewritten.
            models.Index(fields=["customer_id"], name="reporting_breach_customer"),
        ]

    def __str__(self) -> str:
        return f"answer {self.response_id} of customer {self.customer_id}"


class BreachStale(models.Model):
    """A customer whose AnswerBreach and ContactPeak rows a write made out of date (an answer, a
    case or a recorded contact of theirs inserted, deleted, moved or redated): inserted by the
    triggers of reporting.contact_breaches in the writer's transaction, removed once the rows are
    recomputed. Until then the Contact report computes the customer from the source rows."""

    customer_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["customer_id"], name="reporting_breachstale_cust")]

    def __str__(self) -> str:
        return f"customer {self.customer_id}"


class BreachPolicy(models.Model):
    """The contact policy the AnswerBreach and ContactPeak rows were computed under (one row, id
    1): its rules in a key (reporting.contact_breaches.policy_key). While it differs from the current
    policy's, the Contact report computes everything from the source rows, until the rows are
    rebuilt."""

    key = models.CharField(max_length=64)
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key


class ContactPeak(models.Model):
    """A moment a customer was asked for feedback (an answer, or an invitation or recovery check
    recorded: contactpolicy.ContactEvent) at which they had more survey contacts than the policy's
    limit in the policy's period up to it (`at` minus period_days to `at`, both included, every
    contact counted raw), under the policy recorded in BreachPolicy. A customer asked too often in
    a period ending at E had one at or before E within the period (the newest contact in it), so the
    Contact report's over-contacted list checks only the customers with one in its period instead
    of counting every contact of the period per customer. Kept with AnswerBreach
    (reporting.contact_breaches: the same marks, fold and rebuild). No foreign keys: a read model."""

    customer_id = models.BigIntegerField()
    at = models.DateTimeField()

    class Meta:
        indexes = [
            # The over-contacted list: the customers with a peak in its period, index-only.
            models.Index(fields=["at"], name="reporting_contactpeak_at", include=["customer_id"]),
            # reporting.contact_breaches: a customer's rows rewritten.
            models.Index(fields=["customer_id"], name="reporting_contactpeak_cust"),
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id} at {self.at}"


class ClosedCaseFollowUp(models.Model):
    """What one closed case with a root cause was followed by: the impact report's root-cause rows,
    stored (reporting.case_followups explains the columns; kept with AnswerFollowUp by the triggers
    and folds of reporting.followups). No foreign keys: a read model, rewritten per customer."""

    case_id = models.BigIntegerField(primary_key=True)
    customer_id = models.BigIntegerField()  # 0: the case has no customer
    team_id = models.BigIntegerField()
    closed_at = models.DateTimeField(null=True)
    root_cause_id = models.BigIntegerField()
    response_id = models.BigIntegerField()
    answered_at = models.DateTimeField()
    nps = models.SmallIntegerField(null=True)
    account_value = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    churned = models.SmallIntegerField()  # within case_followups.CHURN_DAYS after the answer

    class Meta:
        indexes = [
            # The impact report: a team's cases closed in the period, covering (an index-only scan).
            models.Index(fields=["team_id", "closed_at"], name="reporting_casefollowup_team",
                         include=["case_id", "root_cause_id", "response_id", "customer_id", "answered_at", "nps",
                                  "account_value", "churned"]),
            models.Index(fields=["customer_id"], name="reporting_casefollowup_cust"),
        ]

    def __str__(self) -> str:
        return f"case {self.case_id} of customer {self.customer_id}"


class MomentsOfTruth(models.Model):
    """The journey map's moments of truth for one journey, scope (the teams) and filter set, stored
    so that no page view computes them (reporting.selectors.moments explains the method, when a
    row is computed and refreshed, and what the page shows meanwhile). No foreign keys: a read
    model; a row whose journey is gone is dropped by the refresh."""

    key = models.CharField(max_length=64, unique=True)  # sha256 of `spec`
    journey_id = models.BigIntegerField()
    spec = models.JSONField()  # the scope and filters, as moments.filters_of reads them back
    fingerprint = models.CharField(max_length=64, blank=True)  # the journey as mapped when computed
    estimates = models.JSONField(default=dict)  # {stage id: [customers, rho, low, high, sampled]}
    period_start = models.DateTimeField(null=True)  # the period computed (the default one moves daily)
    period_end = models.DateTimeField(null=True)
    computed_at = models.DateTimeField(null=True)  # None: asked for, not computed yet
    requested_at = models.DateTimeField(null=True)  # when a computation was last queued
    viewed_at = models.DateTimeField()  # last read by a page (rows nobody reads are not refreshed)

    class Meta:
        indexes = [models.Index(fields=["journey_id"], name="reporting_moments_journey")]

    def __str__(self) -> str:
        return f"journey {self.journey_id} moments {self.key[:8]}"


class SegmentBit(models.Model):
    """A named segment's bit in the segment_bits of customers, responses and cases, and the
    definition ({"match", "conditions"}) the stored bits hold (reporting.segment_bits explains both).
    Written by reporting.segment_bits.segment_bits_sync only; a segment without a row (conditions on
    accounts, a 64th segment, SQLite) is tested by its conditions."""

    segment = models.OneToOneField("segments.Segment", on_delete=models.CASCADE, related_name="bit")
    slot = models.PositiveSmallIntegerField(unique=True)
    built = models.JSONField(null=True)  # None: the bits of this slot are not this segment's yet

    def __str__(self) -> str:
        return f"segment {self.segment_id}: bit {self.slot}"
