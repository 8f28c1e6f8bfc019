"""Merging two customers a person judged to be one, and undoing it.

A merge moves everything that names the merged customer to the target: responses (so every
report counts them for the target), cases (through cases.services.cases_move_customer, each
with a timeline note), recovery checks, identities and account contacts the target lacks, and
customers merged into it before, and whatever an app above customers registered a mover for
(`merge_mover_register`: outcomes moves the customer's outcome events). It records exactly what moved (CustomerMerge.moved), so the
undo moves exactly that back; what arrived for the target after the merge stays with it. The
merged customer's row stays, pointing to the target (`merged_into`): a later delivery that names
it is recorded for the target. Contact consent is merged cautiously (a refusal on either side
wins) and restored by the undo unless someone changed it meanwhile. Both send a signal
(customers.signals) for the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case
from cases.services import cases_move_customer, cases_relink_answers
from customers.models import Contact, CustomerMerge, Identity
from customers.signals import MergeChange, customer_merged, customer_unmerged
from followup.models import Verification
from surveys.consent import Consent
from surveys.models import Customer, SurveyResponse


@dataclass(frozen=True)
class MergeMover:
    """How an app above customers moves its rows of a customer on a merge, and back on the undo.
    `move(merged_id=, target_id=)` moves the merged customer's rows to the target and returns their
    ids (kept in CustomerMerge.moved[kind], sent with the audit signal); `move_back(ids=,
    target_id=, merged_id=)` moves those of them that still name the target back."""

    kind: str
    move: Callable[..., list[int]]
    move_back: Callable[..., None]


_MOVERS: dict[str, MergeMover] = {}


def merge_mover_register(kind: str, *, move: Callable[..., list[int]], move_back: Callable[..., None]) -> None:
    """Called once from an app's ready() (outcomes: "outcomes"); a kind registered twice keeps the last."""
    _MOVERS[kind] = MergeMover(kind, move, move_back)


def _locked(ids: list[int]) -> dict[int, Customer]:
    found = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    if len(found) != len(set(ids)):
        raise Customer.DoesNotExist("No such customer.")
    return found


def _merged_consent(target: Customer, merged: Customer) -> dict:
    consent = dict(target.contact_consent or {})
    for channel, value in (merged.contact_consent or {}).items():
        if value == Consent.REFUSED or not consent.get(channel):
            consent[channel] = value
    return consent


def _change(merge: CustomerMerge, by) -> MergeChange:
    return MergeChange(merge_id=merge.pk, target_id=merge.target_id, merged_id=merge.merged_id,
                       by_id=by.pk if by is not None else None, reason=merge.reason, moved=merge.moved)


@transaction.atomic
def customer_merge(*, merged_id: int, target_id: int, by, reason: str = "") -> CustomerMerge:
    """Merge customer `merged_id` into `target_id` (see the module). ValidationError, with a
    sentence a person can act on, when the two are one, either was merged or erased already."""
    if int(merged_id) == int(target_id):
        raise ValidationError({"target": [_("Choose two different customers.")]})
    customers = _locked([int(merged_id), int(target_id)])
    merged, target = customers[int(merged_id)], customers[int(target_id)]
    for customer in (merged, target):
        if customer.merged_into_id is not None:
            raise ValidationError({"target": [
                _("%(customer)s was merged into another customer already: merge with that one, or undo that "
                  "merge first.") % {"customer": customer}]})
        if customer.erased_at is not None:
            raise ValidationError({"target": [_("%(customer)s was erased: an erased customer cannot be merged.")
                                              % {"customer": customer}]})
    merge = CustomerMerge.objects.create(target=target, merged=merged, by=by, reason=(reason or "").strip())
    moved: dict = {"target_before": {"contact_opt_out": target.contact_opt_out,
                                     "contact_consent": dict(target.contact_consent or {})}}
    responses = SurveyResponse.objects.filter(customer_id=merged.pk)
    moved["responses"] = list(responses.values_list("pk", flat=True))
    SurveyResponse.objects.filter(pk__in=moved["responses"]).update(customer_id=target.pk)
    case_ids = list(Case.objects.filter(customer_id=merged.pk).values_list("pk", flat=True))
    moved["cases"] = cases_move_customer(
        case_ids=case_ids, customer_id=target.pk, by=by,
        note=_("Customer %(merged)s merged into %(target)s.") % {"merged": merged, "target": target},
        data={"merge_id": merge.pk})
    cases_relink_answers(customer_ids=[merged.pk, target.pk])  # "answered again" follows the answers
    moved["verifications"] = list(Verification.objects.filter(customer_id=merged.pk).values_list("pk", flat=True))
    Verification.objects.filter(pk__in=moved["verifications"]).update(customer_id=target.pk)
    have = set(Identity.objects.filter(customer_id=target.pk).values_list("kind", "source_id", "value"))
    moved["identities"] = [pk for pk, kind, source_id, value in Identity.objects.filter(customer_id=merged.pk)
                           .values_list("pk", "kind", "source_id", "value") if (kind, source_id, value) not in have]
    Identity.objects.filter(pk__in=moved["identities"]).update(customer_id=target.pk)
    accounts = set(Contact.objects.filter(customer_id=target.pk).values_list("account_id", flat=True))
    moved["contacts"] = [pk for pk, account_id in Contact.objects.filter(customer_id=merged.pk)
                         .values_list("pk", "account_id") if account_id not in accounts]
    Contact.objects.filter(pk__in=moved["contacts"]).update(customer_id=target.pk)
    moved["repointed"] = list(Customer.objects.filter(merged_into_id=merged.pk).values_list("pk", flat=True))
    Customer.objects.filter(pk__in=moved["repointed"]).update(merged_into_id=target.pk)
    for mover in _MOVERS.values():
        moved[mover.kind] = list(mover.move(merged_id=merged.pk, target_id=target.pk))
    target.contact_opt_out = target.contact_opt_out or merged.contact_opt_out
    target.contact_consent = _merged_consent(target, merged)
    target.save(update_fields=["contact_opt_out", "contact_consent", "updated_at"])
    moved["target_after"] = {"contact_opt_out": target.contact_opt_out, "contact_consent": target.contact_consent}
    merged.merged_into = target
    merged.save(update_fields=["merged_into", "updated_at"])
    merge.moved = moved
    merge.save(update_fields=["moved"])
    customer_merged.send(sender=CustomerMerge, change=_change(merge, by))
    return merge


@transaction.atomic
def customer_unmerge(*, merge_id: int, by) -> CustomerMerge:
    """Undo a merge: what it moved and still names the target goes back to the merged customer,
    who no longer points to the target. ValidationError when it was undone already, or when the
    target has since been merged into a third customer (undo that first)."""
    merge = CustomerMerge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise CustomerMerge.DoesNotExist("No such merge.")
    if merge.undone_at is not None:
        raise ValidationError({"merge": [_("This merge was undone already.")]})
    customers = _locked([merge.merged_id, merge.target_id])
    merged, target = customers[merge.merged_id], customers[merge.target_id]
    if target.merged_into_id is not None:
        raise ValidationError({"merge": [_("%(target)s has since been merged into another customer: undo that merge "
                                           "first.") % {"target": target}]})
    moved = merge.moved or {}
    SurveyResponse.objects.filter(pk__in=moved.get("responses", []), customer_id=target.pk).update(customer_id=merged.pk)
    back = list(Case.objects.filter(pk__in=moved.get("cases", []), customer_id=target.pk).values_list("pk", flat=True))
    cases_move_customer(case_ids=back, customer_id=merged.pk, by=by,
                        note=_("Merge of %(merged)s into %(target)s undone.") % {"merged": merged, "target": target},
                        data={"merge_id": merge.pk, "undo": True})
    cases_relink_answers(customer_ids=[merged.pk, target.pk])
    Verification.objects.filter(pk__in=moved.get("verifications", []), customer_id=target.pk).update(
        customer_id=merged.pk)
    Identity.objects.filter(pk__in=moved.get("identities", []), customer_id=target.pk).update(customer_id=merged.pk)
    Contact.objects.filter(pk__in=moved.get("contacts", []), customer_id=target.pk).update(customer_id=merged.pk)
    Customer.objects.filter(pk__in=moved.get("repointed", []), merged_into_id=target.pk).update(
        merged_into_id=merged.pk)
    for mover in _MOVERS.values():
        mover.move_back(ids=moved.get(mover.kind, []), target_id=target.pk, merged_id=merged.pk)
    after, before = moved.get("target_after"), moved.get("target_before")
    if before and after == {"contact_opt_out": target.contact_opt_out, "contact_consent": target.contact_consent}:
        target.contact_opt_out, target.contact_consent = before["contact_opt_out"], before["contact_consent"]
        target.save(update_fields=["contact_opt_out", "contact_consent", "updated_at"])
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])
    merge.undone_at, merge.undone_by = timezone.now(), by
    merge.save(update_fields=["undone_at", "undone_by"])
    customer_unmerged.send(sender=CustomerMerge, change=_change(merge, by))
    return merge
