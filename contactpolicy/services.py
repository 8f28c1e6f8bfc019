"""May we ask this person now? One decision for every survey tool and the product's own checks.

    contact_decision(customer, channel="email", purpose=Purpose.SURVEY, at=None) -> Decision
    contact_decision(Asked(email=...) | Asked(customer_id=...) | Asked(external_id=...), ...) -> Decision
    contact_record(ContactRow(...), by=user) -> (ContactEvent, created)   # a tool sent a survey
    policy_update(by=user, **fields) -> ContactPolicy

The rules, in the order a person reads them (docs/contact-policy.md):
1. the customer's standing wishes (erased, opted out, this channel refused: surveys.consent);
2. a case of theirs is open (the policy's `open_case_blocks`);
3. their last case closed less than `days_after_close` days ago;
4. they had `max_surveys` survey contacts in the last `period_days` days (responses received,
   invitations tools reported, the product's recovery checks; see `survey_contacts`);
5. it is within the quiet hours in the customer's time zone.
A recovery check ("Did we put it right?") is about the case that just closed: rules 2 and 3 do not
apply to it. Every reason found is returned, each with the moment it stops applying when known,
so a tool can schedule rather than drop.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from cases.models import Case
from contactpolicy.models import ContactEvent, ContactPolicy
from core.prepared import prepared_cursor
from core.process_cache import ProcessCache
from surveys.consent import ContactChannel, contact_refusal
from surveys.models import Customer, SurveyResponse


class Purpose:
    SURVEY = "survey"  # a survey tool, marketing automation: any request for feedback
    RECOVERY_CHECK = "recovery_check"  # the product's "Did we put it right?" about a closed case
    CHOICES = (SURVEY, RECOVERY_CHECK)


@dataclass(frozen=True)
class Reason:
    code: str  # erased, opted_out, channel_refused, no_customer, open_case, recently_closed, frequency, quiet_hours
    message: str
    until: dt.datetime | None = None  # when it stops applying; None: not by itself (an opt-out, an open case)


@dataclass(frozen=True)
class Decision:
    may_contact: bool
    reasons: tuple[Reason, ...]
    surveys_in_period: int
    customer_id: int | None
    time_zone: str
    at: dt.datetime

    @property
    def next_allowed_at(self) -> dt.datetime | None:
        """The first moment every reason has passed; None while one has no end of its own."""
        if self.may_contact:
            return self.at
        if any(reason.until is None for reason in self.reasons):
            return None
        return max(reason.until for reason in self.reasons)


@dataclass(frozen=True)
class ContactRow:
    """A survey contact a tool reports: who (customer id, or e-mail), when, on which channel."""

    sent_at: dt.datetime
    customer_id: int | None = None
    email: str = ""
    channel: str = ContactChannel.EMAIL
    sender: str = ""
    external_id: str = ""
    source_id: int | None = None
    kind: str = ContactEvent.Kind.INVITATION
    extra: dict = field(default_factory=dict)


# --- the policy -------------------------------------------------------------------------------
def _load_policy() -> ContactPolicy:
    return ContactPolicy.objects.filter(id=1).first() or ContactPolicy(id=1)


_policy_cache = ProcessCache("contactpolicy:version", _load_policy, check_seconds=lambda: 2, what="contact policy")


def current_policy() -> ContactPolicy:
    """The policy in force (defaults until an admin saves one), without a query on most calls."""
    return _policy_cache.get()


POLICY_FIELDS = ("max_surveys", "period_days", "open_case_blocks", "days_after_close", "quiet_hours",
                 "quiet_start", "quiet_end", "default_time_zone")


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def policy_update(*, by, **values) -> ContactPolicy:
    """Change the policy (the settings page, the API). The audit trail records the change
    (config/settings/audit.py tracks the model)."""
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError({name: _("Not a setting of the contact policy.") for name in sorted(unknown)})
    zone = values.get("default_time_zone")
    if zone and not valid_zone(zone):
        raise ValidationError({"default_time_zone": _("Not a time zone: use an IANA name such as Europe/Madrid.")})
    if values.get("period_days") is not None and values["period_days"] < 1:
        raise ValidationError({"period_days": _("The period is at least one day.")})
    with transaction.atomic():
        policy = ContactPolicy.objects.select_for_update().get_or_create(id=1)[0]
        for name, value in values.items():
            setattr(policy, name, value)
        policy.updated_by = by if getattr(by, "is_authenticated", False) else None
        policy.full_clean()
        policy.save()
    _policy_cache.changed()
    return policy


# --- the customer -----------------------------------------------------------------------------
def customers_by_email(emails) -> dict[str, Customer]:
    """The customers these addresses name, by the address in lower case, followed through merges:
    one query, and one more per level of merges to follow (a merge repoints its followers: one)."""
    lowered = {e.strip().lower() for e in emails if e and e.strip()}
    if not lowered:
        return {}
    found: dict[str, Customer] = {}
    # Lower(email) IN (...), as the unique index on it is written (surveys_customer_unique_email_ci).
    for customer in (Customer.objects.exclude(email="").annotate(email_ci=Lower("email")).filter(email_ci__in=lowered)
                     .order_by("merged_into_id", "pk")):
        found.setdefault(customer.email_ci, customer)
    seen: set[int] = set()
    while pending := {c.merged_into_id for c in found.values() if c.merged_into_id and c.pk not in seen}:
        seen |= {c.pk for c in found.values() if c.merged_into_id}
        targets = Customer.objects.in_bulk(pending)
        found = {key: (targets.get(c.merged_into_id) if c.merged_into_id and c.pk in seen else c)
                 for key, c in found.items()}
        found = {key: c for key, c in found.items() if c is not None}
    return found


def customer_zone(customer: Customer | None, policy: ContactPolicy) -> str:
    """The customer's time zone: the `timezone` (or `time_zone`) attribute a source or import
    delivered when it names a real zone, else the policy's default, else TIME_ZONE."""
    attributes = (customer.attributes or {}) if customer is not None else {}
    for key in ("timezone", "time_zone"):
        value = attributes.get(key)
        if isinstance(value, str) and value and valid_zone(value):
            return value
    if policy.default_time_zone and valid_zone(policy.default_time_zone):
        return policy.default_time_zone
    return settings.TIME_ZONE


# --- counting contacts ------------------------------------------------------------------------
def survey_contacts(customer_id: int, *, start: dt.datetime, end: dt.datetime, period: dt.timedelta) -> list[dt.datetime]:
    """When this customer was asked for feedback in (start, end], oldest first (survey_contacts_many)."""
    return survey_contacts_many([customer_id], start=start, end=end, period=period).get(customer_id, [])


def survey_contacts_many(customer_ids, *, start: dt.datetime, end: dt.datetime, period: dt.timedelta
                         ) -> dict[int, list[dt.datetime]]:
    """When each of these customers was asked for feedback in (start, end], oldest first
    (`_contact_times`). Two queries whatever the number of customers."""
    history = history_of(customer_ids, start=start, end=end, period=period, cases=False)
    found = {pk: _contact_times(history, pk, start, end, period) for pk in set(history.events) | set(history.answers)}
    return {pk: times for pk, times in found.items() if times}


@dataclass
class History:
    """What the decision reads of some customers, each a list by customer id: their cases
    (pk, created_at, closed, closed_at), the contacts recorded (at, source) and their answers
    (answered_at, source)."""

    cases: dict[int, list[tuple]] = field(default_factory=dict)
    events: dict[int, list[tuple[dt.datetime, int | None]]] = field(default_factory=dict)
    answers: dict[int, list[tuple[dt.datetime, int | None]]] = field(default_factory=dict)


def history_of(customer_ids, *, start: dt.datetime, end: dt.datetime, period: dt.timedelta, cases: bool = True,
               contacts: bool = True) -> History:
    """The history decisions in (start, end] read (the contacts recorded from a period earlier, to
    tell whether an answer followed an invitation):
    one query each for the cases, the contacts recorded and the answers, whatever the number of
    customers."""
    history = History()
    if cases:
        for customer_id, *case in (Case.objects.filter(customer_id__in=customer_ids, created_at__lte=end)
                                   .values_list("customer_id", "pk", "created_at", "status", "closed_at")):
            pk, created_at, status, closed_at = case
            history.cases.setdefault(customer_id, []).append((pk, created_at, status == Case.Status.CLOSED, closed_at))
    if contacts:
        for customer_id, at, source_id in (ContactEvent.objects.filter(customer_id__in=customer_ids,
                                                                        at__gt=start - period, at__lte=end)
                                           .values_list("customer_id", "at", "source_id")):
            history.events.setdefault(customer_id, []).append((at, source_id))
        for customer_id, at, source_id in (SurveyResponse.objects.filter(customer_id__in=customer_ids,
                                                                          answered_at__gt=start, answered_at__lte=end)
                                           .values_list("customer_id", "answered_at", "source_id")):
            history.answers.setdefault(customer_id, []).append((at, source_id))
    return history


def _contact_times(history: History, customer_id: int, start: dt.datetime, end: dt.datetime,
                   period: dt.timedelta) -> list[dt.datetime]:
    """When the customer was asked for feedback in (start, end], oldest first: every invitation a
    tool reported and every recovery check sent, plus every response received, except a response
    from a source that reported an invitation to the same person in the period before the answer
    (that invitation already counts)."""
    events = history.events.get(customer_id, ())
    times = [at for at, _source in events if start < at <= end]
    for answered_at, source_id in history.answers.get(customer_id, ()):
        if start < answered_at <= end and not any(src == source_id and answered_at - period <= at <= answered_at
                                                  for at, src in events):
            times.append(answered_at)
    return sorted(times)


def _quiet_until(local: dt.datetime, policy: ContactPolicy) -> dt.datetime | None:
    """The end of the quiet hours `local` falls in (an aware datetime), or None outside them."""
    start, end, now = policy.quiet_start, policy.quiet_end, local.time()
    if start == end:
        return None
    inside = (start <= now < end) if start < end else (now >= start or now < end)
    if not inside:
        return None
    day = local.date() if now < end else local.date() + dt.timedelta(days=1)
    naive = dt.datetime.combine(day, end)
    return naive.replace(tzinfo=local.tzinfo)


# --- the decision ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Asked:
    """A customer as a question names them (the API, the settings page's check): by e-mail address
    (ignoring case, followed through merges), by id, or by the external id a source gave."""

    email: str = ""
    customer_id: int | None = None
    external_id: str = ""


def contact_decision(customer: Customer | Asked | None, *, channel: str = ContactChannel.EMAIL,
                     purpose: str = Purpose.SURVEY, at: dt.datetime | None = None,
                     case_id: int | None = None) -> Decision:
    """Whether `customer` may be asked for feedback on `channel` at `at` (now), and every reason
    not. `customer` is a Customer, or an Asked naming one (read with its history). An unknown
    customer has no history: only the quiet hours (in the default zone) apply.
    `case_id`: for a recovery check, the case it asks about (its own closure does not count).
    One query for a known customer or an Asked (_one_history), none for None."""
    policy = current_policy()
    at = at or timezone.now()
    history = History()
    if customer is not None:
        customer, history = _one_history(customer, policy, at=at, cases=_reads_cases(policy, purpose))
    return _decide(customer, policy, history, channel=channel, purpose=purpose, at=at, case_id=case_id)


# The customer (when asked by an identifier) and their history in ONE plain-SQL statement that
# PostgreSQL and SQLite both run (survey tools ask before every send: issue #23). Rows: (kind, id,
# time, time, flag, text, json, json), read through the customer's email/pk/external_id index and
# the (customer, time) indexes of cases, contacts and answers (answers index-only).
_CUSTOMER, _CASE, _EVENT, _ANSWER = 0, 1, 2, 3
_NAMED_BY = {"email": "LOWER(email) = %s AND email <> ''", "customer_id": "id = %s", "external_id": "external_id = %s"}
MERGE_DEPTH = 10  # how far a merge is followed (a merge repoints its followers: one step in practice)


@lru_cache(maxsize=32)
def _statement(named_by: str | None, cases: bool, contacts: bool) -> str:
    """The SQL for one customer: `named_by` an Asked's field (the customer row is read too), or
    None for a customer already in hand (by id, no customer row)."""
    customer, case, event, response = (Customer._meta.db_table, Case._meta.db_table, ContactEvent._meta.db_table,
                                       SurveyResponse._meta.db_table)
    if named_by == "email":  # followed through merges, as customers_by_email does
        who = (f"WITH RECURSIVE chain (id, merged_into_id, depth) AS ("
               f"SELECT id, merged_into_id, 0 FROM {customer} WHERE {_NAMED_BY['email']} "
               f"UNION ALL SELECT c.id, c.merged_into_id, chain.depth + 1 FROM {customer} c "
               f"JOIN chain ON c.id = chain.merged_into_id WHERE chain.depth < {MERGE_DEPTH}), "
               f"who (id) AS (SELECT id FROM chain WHERE merged_into_id IS NULL) ")
    else:
        who = f"WITH who (id) AS (SELECT id FROM {customer} WHERE {_NAMED_BY[named_by or 'customer_id']}) "
    parts = []
    if named_by is not None:
        parts.append(f"SELECT {_CUSTOMER}, id, erased_at, NULL, contact_opt_out, NULL, CAST(contact_consent AS text), "
                     f"CAST(attributes AS text) FROM {customer} WHERE id = (SELECT id FROM who)")
    if cases:
        parts.append(f"SELECT {_CASE}, id, created_at, closed_at, NULL, status, NULL, NULL FROM {case} "
                     f"WHERE customer_id = (SELECT id FROM who) AND created_at <= %s")
    if contacts:
        parts.append(f"SELECT {_EVENT}, source_id, at, NULL, NULL, NULL, NULL, NULL FROM {event} "
                     f"WHERE customer_id = (SELECT id FROM who) AND at > %s AND at <= %s")
        parts.append(f"SELECT {_ANSWER}, source_id, answered_at, NULL, NULL, NULL, NULL, NULL FROM {response} "
                     f"WHERE customer_id = (SELECT id FROM who) AND answered_at > %s AND answered_at <= %s")
    return who + " UNION ALL ".join(parts)


def _moment(value) -> dt.datetime | None:
    """A time as the row holds it (PostgreSQL: aware; SQLite: text in UTC) as an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def _standing(pk: int, **values) -> Customer:
    """The customer with only what the decision reads of them loaded (the rest loads if touched)."""
    values["id"] = pk
    for name in ("contact_consent", "attributes"):  # JSON as text
        values[name] = (json.loads(values[name]) if isinstance(values[name], str) else values[name]) or {}
    names = [f.attname for f in Customer._meta.concrete_fields if f.attname in values]  # from_db wants this order
    return Customer.from_db(connection.alias, names, [values[name] for name in names])


def _one_history(customer: Customer | Asked, policy: ContactPolicy, *, at: dt.datetime, cases: bool
                 ) -> tuple[Customer | None, History]:
    """The customer (read when `customer` is an Asked; None if nobody matches) and their history
    in the policy's period before `at` (the contacts recorded from a period earlier), one query."""
    period = dt.timedelta(days=policy.period_days)
    contacts = bool(policy.max_surveys)
    if isinstance(customer, Asked):
        named_by, value = next(((name, value) for name, value in (
            ("email", (customer.email or "").strip().lower()), ("customer_id", customer.customer_id),
            ("external_id", customer.external_id)) if value not in (None, "")), (None, None))
        if named_by is None:
            return None, History()
    else:
        named_by, value = None, customer.pk
    adapt = connection.ops.adapt_datetimefield_value
    params = [value]
    if cases:
        params.append(adapt(at))
    if contacts:
        params += [adapt(at - 2 * period), adapt(at), adapt(at - period), adapt(at)]
    with prepared_cursor() as cursor:  # planned once per connection (core.prepared)
        cursor.execute(_statement(named_by, cases, contacts), params)
        rows = cursor.fetchall()
    cases_of, events, answers = [], [], []
    for kind, pk, first, second, flag, status, consent, attributes in rows:
        if kind == _CUSTOMER:
            customer = _standing(pk, erased_at=_moment(first), contact_opt_out=bool(flag),
                                 contact_consent=consent, attributes=attributes)
        elif kind == _CASE:
            cases_of.append((pk, _moment(first), status == Case.Status.CLOSED, _moment(second)))
        else:
            (events if kind == _EVENT else answers).append((_moment(first), pk))
    if isinstance(customer, Asked):  # nobody by that name
        return None, History()
    return customer, History(cases={customer.pk: cases_of}, events={customer.pk: events},
                             answers={customer.pk: answers})


def _reads_cases(policy: ContactPolicy, purpose: str) -> bool:
    return purpose == Purpose.SURVEY and bool(policy.open_case_blocks or policy.days_after_close)


def _decide(customer: Customer | None, policy: ContactPolicy, history: History, *, channel: str, purpose: str,
            at: dt.datetime, case_id: int | None) -> Decision:
    """The decision from what history_of read (no query)."""
    zone = customer_zone(customer, policy)
    reasons: list[Reason] = []
    count = 0
    if customer is not None:
        if refusal := contact_refusal(customer, channel):
            code = ("erased" if customer.erased_at else "opted_out" if customer.contact_opt_out else "channel_refused")
            reasons.append(Reason(code, refusal))
        if _reads_cases(policy, purpose):
            reasons.extend(_case_reasons(history.cases.get(customer.pk, ()), policy, at, case_id))
        if policy.max_surveys:
            period = dt.timedelta(days=policy.period_days)
            times = _contact_times(history, customer.pk, at - period, at, period)
            count = len(times)
            if count >= policy.max_surveys:
                until = times[count - policy.max_surveys] + period
                reasons.append(Reason("frequency", _(
                    "Asked %(count)s times in the last %(days)s days; the policy allows %(max)s.")
                    % {"count": count, "days": policy.period_days, "max": policy.max_surveys}, until))
    if policy.quiet_hours:
        local = at.astimezone(ZoneInfo(zone))
        if (until := _quiet_until(local, policy)) is not None:
            reasons.append(Reason("quiet_hours", _("It is %(time)s in the customer's time zone (%(zone)s): quiet "
                                                   "hours until %(end)s.")
                                  % {"time": local.strftime("%H:%M"), "zone": zone,
                                     "end": policy.quiet_end.strftime("%H:%M")}, until.astimezone(dt.UTC)))
    return Decision(may_contact=not reasons, reasons=tuple(reasons), surveys_in_period=count,
                    customer_id=customer.pk if customer is not None else None, time_zone=zone, at=at)


def _case_reasons(cases, policy: ContactPolicy, at: dt.datetime, case_id: int | None) -> list[Reason]:
    """Open cases and the latest closure within the rest days, from the customer's cases
    (pk, created_at, closed, closed_at) opened by `at`."""
    rest = dt.timedelta(days=policy.days_after_close)
    theirs = [c for c in cases if c[1] <= at and c[0] != case_id]
    last = max((closed_at for _pk, _created, closed, closed_at in theirs
                if closed and closed_at is not None and at - rest < closed_at <= at), default=None)
    reasons = []
    if policy.open_case_blocks and any(not closed for _pk, _created, closed, _at in theirs):
        reasons.append(Reason("open_case", _("A case of theirs is open: ask once it is closed.")))
    if policy.days_after_close and last is not None:
        reasons.append(Reason("recently_closed", _(
            "Their case closed on %(date)s; the policy rests %(days)s days after a case closes.")
            % {"date": last.date().isoformat(), "days": policy.days_after_close}, last + rest))
    return reasons


# --- recording contacts -----------------------------------------------------------------------
def contact_record(row: ContactRow, *, by=None) -> tuple[ContactEvent, bool]:
    """Record one survey contact (contact_record_many); raises ValidationError for an unknown customer."""
    result = contact_record_many([row], by=by)[0]
    if isinstance(result, ValidationError):
        raise result
    return result


def _no_customer() -> ValidationError:
    return ValidationError({"customer": _("No customer with that id or e-mail address. Contacts are recorded "
                                          "for known customers only.")})


def contact_record_many(rows: list[ContactRow], *, by=None) -> list[tuple[ContactEvent, bool] | ValidationError]:
    """Record survey contacts (a tool reports invitations it sent; the product records its
    recovery checks), each with whether the policy allowed it at that moment, in order: a contact
    counts toward the decisions of those after it. Idempotent on (sender, external_id): reporting
    the same invitation again returns the first record. For each row, its (event, created) or the
    ValidationError that refused it. A constant number of queries whatever the number of rows:
    the customers, the invitations already known, their history, one insert."""
    for _attempt in range(2):
        try:
            return _record(rows, by)
        except IntegrityError:  # the same (sender, external_id) recorded at the same moment elsewhere:
            continue  # read again, it is known now
    return _record(rows, by)


def _record(rows: list[ContactRow], by) -> list[tuple[ContactEvent, bool] | ValidationError]:
    policy = current_policy()
    ids = {row.customer_id for row in rows if row.customer_id is not None}
    by_id = Customer.objects.in_bulk(ids) if ids else {}
    by_email = customers_by_email([row.email for row in rows if row.customer_id is None])
    customers = [by_id.get(row.customer_id) if row.customer_id is not None
                 else by_email.get((row.email or "").strip().lower()) for row in rows]
    keyed = {(row.sender, row.external_id) for row in rows if row.external_id}
    known = {}
    if keyed:
        for event in ContactEvent.objects.filter(sender__in={s for s, _e in keyed}, external_id__in={e for _s, e in keyed}):
            if (event.sender, event.external_id) in keyed:
                known[event.sender, event.external_id] = event
    times = [row.sent_at for row, customer in zip(rows, customers, strict=True) if customer is not None]
    period = dt.timedelta(days=policy.period_days)
    history = History()
    if times:
        history = history_of({c.pk for c in customers if c is not None}, start=min(times) - period, end=max(times),
                             period=period, cases=policy.open_case_blocks or bool(policy.days_after_close),
                             contacts=bool(policy.max_surveys))
    results: list[tuple[ContactEvent, bool] | ValidationError] = []
    new: list[ContactEvent] = []
    for row, customer in zip(rows, customers, strict=True):
        if customer is None:
            results.append(_no_customer())
            continue
        if row.external_id and (row.sender, row.external_id) in known:
            results.append((known[row.sender, row.external_id], False))
            continue
        purpose = Purpose.RECOVERY_CHECK if row.kind == ContactEvent.Kind.RECOVERY_CHECK else Purpose.SURVEY
        decision = _decide(customer, policy, history, channel=row.channel, purpose=purpose, at=row.sent_at,
                           case_id=None)
        event = ContactEvent(
            customer=customer, kind=row.kind, channel=row.channel, source_id=row.source_id, sender=row.sender[:60],
            external_id=row.external_id[:255], at=row.sent_at, in_breach=not decision.may_contact,
            breach_reasons=[reason.code for reason in decision.reasons],
            reported_by=by if getattr(by, "is_authenticated", False) else None,
        )
        new.append(event)
        results.append((event, True))
        history.events.setdefault(customer.pk, []).append((row.sent_at, row.source_id))  # counts for the next rows
        if row.external_id:
            known[row.sender, row.external_id] = event
    if new:
        with transaction.atomic():
            ContactEvent.objects.bulk_create(new)
    return results
