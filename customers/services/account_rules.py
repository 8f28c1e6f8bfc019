"""Account rules (docs/customers.md, "Account rules"): saving them, and opening an account's case
when one breaches. The case itself is opened by cases.services.case_open_for_account; here is
what decides that one is due, once per episode:

- `account_rules_on_answers(responses)`: a decision maker's detractor answer (customers.receivers
  calls it for every recorded response, at the end of a worker's batch; without an active
  decision-maker rule it costs no query at all);
- `account_rules_sweep()`: the NPS-drop and silence rules over every account, one query per
  rule (customers.selectors.account_rules), hourly from beat (customers.tasks);
- `account_case_open(...)`: under the account's lock, no case while one of the rule's cases for
  the account is open, nor a second for the same answer; a breach after the case is closed opens
  a new one.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from cases.services import case_open_for_account
from cases.timeline import SAID_ACCOUNT_RULE, said
from core import unit_of_work
from customers.models import Account, AccountCase, AccountRule, Contact, ContactRole
from customers.selectors.account_rules import (
    active_account_rules,
    nps_drops,
    silences,
)
from surveys.vocabulary import score_entry

Kind = AccountRule.Kind
DETRACTOR_MAX = 6


@transaction.atomic
def account_rule_save(rule: AccountRule) -> AccountRule:
    """Validate (ValidationError naming the field) and save; every process reloads its rules (the
    post_save receiver in customers.receivers says so, for every save, the admin's too).
    Recorded in the audit trail (config/settings/audit.py tracks customers.accountrule)."""
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def account_case_open(*, rule: AccountRule, account_id: int, response, reasons: dict, why: dict,
                      at: dt.datetime | None = None) -> AccountCase | None:
    """Open the rule's case for the account, for `response`, unless one of the rule's cases for
    the account is still open or one was opened for this same answer (None then). `reasons`: the
    figures kept on the AccountCase; `why`: what the timeline says (cases.timeline's
    SAID_ACCOUNT_RULE values). The team is locked before the account, as every opening takes teams
    first (in a worker's batch, every team, in id order, as its case openings do)."""
    at = at or timezone.now()
    batch = unit_of_work.current()
    if batch is not None:
        from cases.services.opening import CaseOpenings

        batch.state(CaseOpenings).locked_teams()
    else:
        Team.objects.select_for_update().filter(pk=rule.team_id).values_list("pk").first()
    account = Account.objects.select_for_update(of=("self",)).select_related("owner").filter(
        pk=account_id).first()
    if account is None:
        return None
    earlier = AccountCase.objects.filter(rule=rule, account=account)
    if earlier.exclude(case__status="closed").exists() or earlier.filter(case__response_id=response.pk).exists():
        return None
    case = case_open_for_account(
        team=rule.team, priority=rule.priority, response=response, owner=account.owner, account_id=account.pk,
        account_rule=rule.name, at=at,
        reason=said(SAID_ACCOUNT_RULE, why=rule.kind, rule=rule.name, account=account.name, **why))
    return AccountCase.objects.create(account=account, case=case, rule=rule, kind=rule.kind, reasons=reasons,
                                      opened_at=at)


def account_rules_on_answers(*, responses: list, at: dt.datetime | None = None) -> list[AccountCase]:
    """Decision makers' detractor answers: a case per active decision-maker rule and account they
    are a decision maker of. Answers older than the rule's window (history imported late) are
    left alone. One query for the contacts, then one opening per breach."""
    rules = [rule for rule in active_account_rules() if rule.kind == Kind.DECISION_MAKER_DETRACTOR]
    answers = [r for r in responses if r.customer_id and r.nps is not None and r.nps <= DETRACTOR_MAX]
    if not rules or not answers:
        return []
    at = at or timezone.now()
    accounts: dict[int, list[int]] = {}
    for account_id, customer_id in Contact.objects.filter(
            customer_id__in=sorted({r.customer_id for r in answers}),
            role=ContactRole.DECISION_MAKER).order_by("account_id").values_list("account_id", "customer_id"):
        accounts.setdefault(customer_id, []).append(account_id)
    opened = []
    for response in answers:
        for account_id in accounts.get(response.customer_id, []):
            for rule in rules:
                if response.answered_at < at - dt.timedelta(days=rule.window_days):
                    continue
                found = account_case_open(
                    rule=rule, account_id=account_id, response=response, at=at,
                    reasons={"customer_id": response.customer_id, "role": ContactRole.DECISION_MAKER,
                             "nps": response.nps, "response_id": response.pk},
                    why={"score": score_entry(response)})
                if found is not None:
                    opened.append(found)
    return opened


def account_rules_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The NPS-drop and silence rules over every account: one query per rule finds the accounts in
    breach (at most SWEEP_LIMIT each), then each is opened in a transaction of its own (locks held
    for one account at a time). Running it twice opens nothing the second time."""
    now = now or timezone.now()
    opened = {Kind.NPS_DROP.value: 0, Kind.SILENCE.value: 0}
    for rule in active_account_rules():
        if rule.kind == Kind.NPS_DROP:
            drops = nps_drops(rule, now=now)
            responses = _responses([drop.response_id for drop in drops])
            for drop in drops:
                response = responses[drop.response_id]
                figures = {"nps_before": drop.nps_before, "respondents_before": drop.respondents_before,
                           "nps_after": drop.nps_after, "respondents_after": drop.respondents_after,
                           "window_days": rule.window_days}
                if account_case_open(rule=rule, account_id=drop.account_id, response=response, at=now,
                                     reasons={**figures, "response_id": response.pk},
                                     why={"before": drop.nps_before, "after": drop.nps_after,
                                          "respondents_before": drop.respondents_before,
                                          "respondents_after": drop.respondents_after, "window": rule.window_days}):
                    opened[rule.kind] += 1
        elif rule.kind == Kind.SILENCE:
            found = silences(rule, now=now)
            responses = _responses([silence.response_id for silence in found])
            for silence in found:
                response = responses[silence.response_id]
                days = (now - silence.last_answered_at).days
                if account_case_open(rule=rule, account_id=silence.account_id, response=response, at=now,
                                     reasons={"days_silent": days, "last_answered_at": silence.last_answered_at.isoformat(),
                                              "response_id": response.pk},
                                     why={"days": days}):
                    opened[rule.kind] += 1
    return opened


def _responses(ids: list[int]) -> dict:
    """The answers a sweep's breaches name, in one query (a rule finds up to SWEEP_LIMIT)."""
    from surveys.models import SurveyResponse

    return {r.pk: r for r in SurveyResponse.objects.select_related("customer").filter(pk__in=ids)} if ids else {}
