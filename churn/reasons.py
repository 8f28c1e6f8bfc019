"""A reason in words, in the reader's language: each feature read in the direction that raised the
risk (`high`: the customer is above the average customer on it, e.g. more overdue cases)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from churn.features import root_cause_feature

# feature: (when above average, when below average)
WORDS = {
    "nps_last": (_("High latest NPS"), _("Low latest NPS")),
    "nps_trend": (_("NPS rising"), _("NPS falling")),
    "nps_missing": (
        _("No NPS answer in the last year"),
        _("Answered NPS in the last year"),
    ),
    "csat_last": (
        _("High latest satisfaction score"),
        _("Low latest satisfaction score"),
    ),
    "csat_trend": (_("Satisfaction rising"), _("Satisfaction falling")),
    "csat_missing": (
        _("No satisfaction answer in the last year"),
        _("Answered satisfaction in the last year"),
    ),
    "ces_last": (
        _("Latest effort score: easy to deal with"),
        _("Latest effort score: hard to deal with"),
    ),
    "ces_trend": (_("Effort getting easier"), _("Effort getting harder")),
    "ces_missing": (
        _("No effort answer in the last year"),
        _("Answered effort in the last year"),
    ),
    "responses": (
        _("Many answers in the last year"),
        _("Few answers in the last year"),
    ),
    "unsolicited": (
        _("Much feedback nobody asked for"),
        _("Little feedback nobody asked for"),
    ),
    "sentiment": (_("Positive comments"), _("Negative comments")),
    "days_since_answer": (_("Long since their last answer"), _("Answered recently")),
    "days_since_contact": (
        _("Long since we last contacted them"),
        _("Contacted recently"),
    ),
    "open_cases": (_("Open cases"), _("No open cases")),
    "overdue_cases": (_("Overdue cases"), _("No overdue cases")),
    "cases_year": (_("Many cases in the last year"), _("Few cases in the last year")),
    "account_value": (_("High account value"), _("Low account value")),
}
ROOT_CAUSE_PREFIX = root_cause_feature(0)[:-1]


def reason_text(reason: dict, root_cause_names: dict[int, str]) -> str:
    feature, high = reason.get("feature", ""), bool(reason.get("high"))
    if feature.startswith(ROOT_CAUSE_PREFIX):
        name = root_cause_names.get(int(feature.removeprefix(ROOT_CAUSE_PREFIX)), "?")
        if high:
            return str(_("Recent cases with root cause “%(name)s”") % {"name": name})
        return str(_("No recent case with root cause “%(name)s”") % {"name": name})
    words = WORDS.get(feature)
    if words is None:
        return feature
    return str(words[0] if high else words[1])


def reason_texts(reasons: list[dict]) -> list[str]:
    """One query for the root causes' names, only when a reason names one."""
    ids = [
        int(r["feature"].removeprefix(ROOT_CAUSE_PREFIX))
        for r in reasons
        if r.get("feature", "").startswith(ROOT_CAUSE_PREFIX)
    ]
    names = {}
    if ids:
        from cases.models import RootCause

        names = dict(RootCause.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [reason_text(r, names) for r in reasons]
