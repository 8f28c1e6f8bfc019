"""May we contact this customer on this channel? The one answer, read where the product contacts
someone (cases' e-mail action, followup's recovery checks) and where a person decides to.

A customer's preferences live on the row (`Customer.contact_consent`, {channel: "granted" |
"refused"}; a channel not named is "not asked"), beside `contact_opt_out` (no contact at all,
on any channel) and `erased_at`. Reading them costs no query. They are changed only by
customers.services.customer_consent_set (which records who changed what), and by followup's
opt-out link (`contact_opt_out`)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactChannel(models.TextChoices):
    """The channels a customer can be contacted on, each with its own consent."""

    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")


class Consent(models.TextChoices):
    NOT_ASKED = "", _("Not asked")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")


def channel_consent(customer, channel: str) -> str:
    """The consent recorded for `channel` ("" when never asked)."""
    value = (customer.contact_consent or {}).get(channel, "")
    return value if value in Consent.values else ""


def contact_refusal(customer, channel: str) -> str:
    """Why the product may not contact `customer` on `channel`, in a sentence for a person; ""
    when it may. No query."""
    if customer is None:
        return str(_("There is no customer to contact."))
    if customer.erased_at is not None:
        return str(_("This customer's personal data was erased."))
    if customer.contact_opt_out:
        return str(_("This customer asked not to be contacted."))
    if channel_consent(customer, channel) == Consent.REFUSED:
        label = ContactChannel(channel).label if channel in ContactChannel.values else channel
        return str(_("This customer asked not to be contacted by %(channel)s.") % {"channel": str(label).lower()})
    return ""
