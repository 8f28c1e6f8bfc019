"""The per-customer stores kept exact by marks (core.stale_marks) and the other read models: the
answers' follow-ups, the closed cases' follow-ups, the contact policy's breaches and peaks, the
moments of truth and the segments' bits."""

from __future__ import annotations

from django.db import models


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
