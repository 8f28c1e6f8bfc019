"""Reporting's read models: what the report pages read instead of scanning every case.

    rollups  ClosureRollup, ClosureTotal, ScoreTotal, LocationTotal, SegmentRollup, CustomerLastAnswer,
             LastAnswerDay, ThemeRollup, ThemeTotal: signed deltas per day and key, summed by
             readers and folded by the beat (and each customer's latest answer)
    stores   AnswerFollowUp, FollowUpStale, ClosedCaseFollowUp, AnswerBreach, BreachStale,
             BreachPolicy, ContactPeak, MomentsOfTruth, SegmentBit: rows per customer (or per
             answer, case, stage) kept exact by marks, and the segments' bits
"""

from reporting.models.rollups import (
    ClosureCounts,
    ClosureRollup,
    ClosureTotal,
    CustomerLastAnswer,
    LastAnswerDay,
    LocationTotal,
    ScoreTotal,
    SegmentRollup,
    ThemeCounts,
    ThemeRollup,
    ThemeTotal,
)
from reporting.models.stores import (
    AnswerBreach,
    AnswerFollowUp,
    BreachPolicy,
    BreachStale,
    ClosedCaseFollowUp,
    ContactPeak,
    FollowUpStale,
    MomentsOfTruth,
    SegmentBit,
)

__all__ = [
    "AnswerBreach", "AnswerFollowUp", "BreachPolicy", "BreachStale", "ClosedCaseFollowUp", "ClosureCounts", "ClosureRollup", "ClosureTotal",
    "ContactPeak", "CustomerLastAnswer", "FollowUpStale", "LastAnswerDay", "LocationTotal", "MomentsOfTruth",
    "ScoreTotal", "SegmentBit", "SegmentRollup", "ThemeCounts", "ThemeRollup", "ThemeTotal",
]
