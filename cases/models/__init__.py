"""Cases: a customer's bad (or notable) experience turned into work with an owner and a clock.

A case is opened from an alert, routed to a team, worked (claim, contact, notes) and closed
with a root cause. Every change goes through cases.services and leaves a CaseEvent.

    taxonomy       RootCauseCategory, RootCause, RoutingRule
    case           Case (and its queryset), CaseResponse, CaseEvent, contact channels and outcomes
    notifications  Notification, NotificationPreference, NotificationKind
    content        EmailTemplate, Playbook, RootCauseModel
"""

from cases.models.case import Case, CaseEvent, CaseQuerySet, CaseResponse, ContactChannel, ContactOutcome
from cases.models.content import EmailTemplate, Playbook, RootCauseModel
from cases.models.notifications import Notification, NotificationKey, NotificationKind, NotificationPreference
from cases.models.taxonomy import RootCause, RootCauseCategory, RoutingRule

__all__ = [
    "Case", "CaseEvent", "CaseQuerySet", "CaseResponse", "ContactChannel", "ContactOutcome", "EmailTemplate",
    "Notification", "NotificationKey", "NotificationKind", "NotificationPreference", "Playbook", "RootCause", "RootCauseCategory",
    "RootCauseModel", "RoutingRule",
]
