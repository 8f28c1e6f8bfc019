"""The bell in the navigation: the signed-in user's unread in-app notifications (cases.inapp),
counted once per page, when the template shows it, on the partial index
cases_notification_unread. It lives here, not in accounts.context_processors, because accounts
sits below cases and may not read cases' tables."""

from django.utils.functional import SimpleLazyObject

from cases import inapp


def notification_bell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": SimpleLazyObject(lambda: inapp.unread_count(user.pk))}
