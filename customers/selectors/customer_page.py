"""Everything the customer page (and the API's customer detail) shows, read in a fixed number of
queries whatever the customer's history: identities, channels, counts, the timeline (the newest
TIMELINE_LIMIT entries of responses, cases, contact attempts, e-mails, recovery checks, closures,
consent changes and merges), score trends, consent per channel, accounts. Only what the user's
teams may see: responses and cases of other teams are not read at all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from cases.models import Case, CaseEvent
from cases.timeline import describe_event
from customers.models import ConsentChange, Contact, CustomerMerge, Identity
from customers.selectors.trends import Trend, monthly_trends
from customers.selectors.visibility import visible_cases, visible_responses
from segments.models import Segment
from segments.selectors import segments_of
from surveys.consent import Consent, ContactChannel, channel_consent
from surveys.models import Customer, FeedbackKind
from surveys.vocabulary import scores_line

TIMELINE_LIMIT = 100

# The case events that belong on the customer's timeline (what happened with the customer, not
# the internal shuffling of a case).
CUSTOMER_EVENTS = [
    CaseEvent.Kind.CONTACT, CaseEvent.Kind.EMAIL, CaseEvent.Kind.VERIFICATION_SENT,
    CaseEvent.Kind.VERIFICATION_ANSWER, CaseEvent.Kind.CLOSED, CaseEvent.Kind.REOPENED,
]


@dataclass(frozen=True)
class Entry:
    """One line of the customer's timeline."""

    at: dt.datetime
    kind: str  # response, case, contact, email, verification, closed, reopened, consent, merge
    text: str
    detail: str = ""
    url: str = ""
    level: str = ""  # a response's score level (good/ok/bad), for its colour beside the words


@dataclass(frozen=True)
class ChannelConsent:
    channel: str
    label: str
    value: str  # "", "granted", "refused"
    value_label: str


@dataclass
class CustomerPage:
    customer: Customer
    identities: dict[str, list[Identity]]
    channels: list[str]
    sources: list[str]
    responses_total: int
    cases_total: int
    open_cases: int
    timeline: list[Entry]
    trends: list[Trend]
    consent: list[ChannelConsent]
    contacts: list[Contact]
    segments: list[Segment] = field(default_factory=list)  # the named segments the customer is in
    merges: list[CustomerMerge] = field(default_factory=list)

    @property
    def timeline_total(self) -> int:
        return self.responses_total + self.cases_total


def _consent(customer: Customer) -> list[ChannelConsent]:
    labels = dict(Consent.choices)
    rows = [ChannelConsent("any", _("Any channel"), Consent.REFUSED if customer.contact_opt_out else "",
                           str(labels[Consent.REFUSED]) if customer.contact_opt_out else str(labels[""]))]
    for channel, label in ContactChannel.choices:
        value = channel_consent(customer, channel)
        rows.append(ChannelConsent(channel, str(label), value, str(labels[value])))
    return rows


def _response_entry(response) -> Entry:
    where = " · ".join(x for x in [response.source.name, response.channel, response.touchpoint] if x)
    if FeedbackKind.unsolicited(response.feedback_kind):  # feedback nobody asked for: a review, a chat...
        text = _("Unsolicited: %(kind)s (%(survey)s)") % {
            "kind": FeedbackKind(response.feedback_kind).label, "survey": response.survey.name}
    else:
        text = _("Answered %(survey)s") % {"survey": response.survey.name}
    scores = scores_line(response)
    level = "bad" if response.nps is not None and response.nps <= 6 else (
        "good" if response.nps is not None and response.nps >= 9 else "")
    comment = (response.comment or "").strip().splitlines()[0][:200] if response.comment else ""
    detail = " — ".join(x for x in [scores, where, f"“{comment}”" if comment else ""] if x)
    return Entry(response.answered_at, "response", text, detail, level=level)


def _case_entry(case) -> Entry:
    return Entry(case.created_at, "case", _("Case %(reference)s opened for %(team)s") % {
        "reference": case.reference, "team": case.team.name}, case.get_status_display(),
        url=reverse("cases:detail", args=[case.reference]))


def _event_entry(event) -> Entry:
    kind = {CaseEvent.Kind.CONTACT: "contact", CaseEvent.Kind.EMAIL: "email", CaseEvent.Kind.CLOSED: "closed",
            CaseEvent.Kind.REOPENED: "reopened"}.get(event.kind, "verification")
    detail = event.case.reference
    if event.kind == CaseEvent.Kind.CLOSED and event.case.outcome:
        detail += " — " + _("outcome: %(outcome)s") % {"outcome": event.case.get_outcome_display()}
    elif event.kind == CaseEvent.Kind.CONTACT and event.data.get("subject"):
        detail += " — " + event.data["subject"]
    return Entry(event.created_at, kind, describe_event(event), detail,
                 url=reverse("cases:detail", args=[event.case.reference]))


def _consent_entry(change: ConsentChange) -> Entry:
    labels = dict(Consent.choices)
    channel = dict(ContactChannel.choices).get(change.channel, _("Any channel"))
    who = change.by.display_name if change.by_id and change.by else "Closeloop"
    text = _("%(who)s set %(channel)s consent to %(value)s") % {
        "who": who, "channel": str(channel).lower(), "value": str(labels.get(change.to_value, change.to_value)).lower()}
    return Entry(change.created_at, "consent", text, change.via)


def _merge_entry(merge: CustomerMerge, customer: Customer) -> Entry:
    who = merge.by.display_name if merge.by_id and merge.by else "Closeloop"
    if merge.merged_id == customer.pk:
        text = _("%(who)s merged this customer into %(other)s") % {"who": who, "other": merge.target}
    else:
        text = _("%(who)s merged %(other)s into this customer") % {"who": who, "other": merge.merged}
    detail = merge.reason
    if merge.undone_at:
        detail = (detail + " — " if detail else "") + _("undone %(at)s") % {"at": merge.undone_at.strftime("%d %b %Y")}
    return Entry(merge.created_at, "merge", text, detail)


def customer_page(user, customer: Customer) -> CustomerPage:
    """The customer as `user` may see them (the caller checked customer_visible)."""
    ids = [customer.pk]
    responses = visible_responses(user, ids)
    cases = visible_cases(user, ids)
    identities: dict[str, list[Identity]] = {kind: [] for kind in Identity.Kind.values}
    for identity in Identity.objects.filter(customer_id=customer.pk).select_related("source").order_by("kind", "value"):
        identities[identity.kind].append(identity)
    used = list(responses.order_by().values_list("channel", "source__name").distinct())
    # Counted over the status (in the customer index of cases, with the team): index-only.
    counts = cases.aggregate(total=Count("status"), open=Count("status", filter=~Q(status=Case.Status.CLOSED)))
    responses_total = responses.count()
    # The source's name only: its secrets are encrypted (core.crypto), and decrypting three per row
    # cost more than the rest of the timeline.
    entries = [_response_entry(r) for r in responses.select_related("source", "survey")
               .defer("source__secret", "source__previous_secret", "source__auth", "source__mapping")
               .order_by("-answered_at")[:TIMELINE_LIMIT]]
    entries += [_case_entry(c) for c in cases.select_related("team").order_by("-created_at")[:TIMELINE_LIMIT]]
    events = (CaseEvent.objects.filter(case__in=cases.values("pk"), kind__in=CUSTOMER_EVENTS)
              .select_related("actor", "case").order_by("-created_at")[:TIMELINE_LIMIT])
    entries += [_event_entry(e) for e in events]
    entries += [_consent_entry(c) for c in ConsentChange.objects.filter(customer_id=customer.pk)
                .select_related("by")[:TIMELINE_LIMIT]]
    merges = list(CustomerMerge.objects.filter(Q(target_id=customer.pk) | Q(merged_id=customer.pk))
                  .select_related("by", "target", "merged")[:TIMELINE_LIMIT])
    entries += [_merge_entry(m, customer) for m in merges]
    entries.sort(key=lambda e: e.at, reverse=True)
    return CustomerPage(
        customer=customer, identities=identities,
        channels=sorted({c for c, _s in used if c}), sources=sorted({s for _c, s in used if s}),
        responses_total=responses_total, cases_total=counts["total"], open_cases=counts["open"],
        timeline=entries[:TIMELINE_LIMIT], trends=monthly_trends(responses), consent=_consent(customer),
        contacts=list(Contact.objects.filter(customer_id=customer.pk).select_related("account").order_by("account__name")),
        merges=merges, segments=segments_of(customer),
    )
