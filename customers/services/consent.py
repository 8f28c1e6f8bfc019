"""Changing a customer's contact consent: the one write path (the customer page, the API)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import ConsentChange
from customers.signals import ConsentChanged, customer_consent_changed
from surveys.consent import Consent, ContactChannel, channel_consent
from surveys.models import Customer

# "Any channel": the customer's standing opt-out (Customer.contact_opt_out), which the recovery
# check's "Don't ask me again" also sets.
ANY = "any"
CHANNELS = [ANY, *ContactChannel.values]


@transaction.atomic
def customer_consent_set(*, customer_id: int, channel: str, consent: str, by, via: str = "") -> bool:
    """Record that the customer grants ("granted"), refuses ("refused") or was never asked ("")
    contact on `channel` (e-mail, phone, sms, or "any": no contact at all when refused). Returns
    False when nothing changed. Every change is kept as a ConsentChange and announced."""
    errors = {}
    if channel not in CHANNELS:
        errors["channel"] = [_("Choose one of: %(channels)s.") % {"channels": ", ".join(CHANNELS)}]
    if consent not in Consent.values:
        errors["consent"] = [_("Choose granted, refused, or empty for not asked.")]
    if len(via or "") > 120:
        errors["via"] = [_("Keep how the customer told us under 120 characters.")]
    if errors:
        raise ValidationError(errors)
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if customer.erased_at is not None:
        raise ValidationError({"consent": [_("This customer's personal data was erased: there is no one to ask.")]})
    if channel == ANY:
        before = Consent.REFUSED if customer.contact_opt_out else ""
        after = Consent.REFUSED if consent == Consent.REFUSED else ""
        if before == after:
            return False
        customer.contact_opt_out = after == Consent.REFUSED
        customer.save(update_fields=["contact_opt_out", "updated_at"])
    else:
        before, after = channel_consent(customer, channel), consent
        if before == after:
            return False
        values = {k: v for k, v in (customer.contact_consent or {}).items() if k != channel}
        if after:
            values[channel] = after
        customer.contact_consent = values
        customer.save(update_fields=["contact_consent", "updated_at"])
    ConsentChange.objects.create(customer=customer, channel=channel, from_value=before, to_value=after,
                                 via=(via or "").strip(), by=by)
    customer_consent_changed.send(sender=ConsentChange, change=ConsentChanged(
        customer_id=customer.pk, channel=channel, from_value=before, to_value=after, via=(via or "").strip(),
        by_id=by.pk if by is not None else None))
    return True
