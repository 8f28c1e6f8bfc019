"""The bell in the navigation: the signed-in user's unread in-app notifications (cases.inapp),
read from Redis (cases.inapp.bell_count); the database is asked (one query on the partial index
cases_notification_unread) only after the count changed or with a cold cache. It lives here, not in accounts.context_processors, because accounts
sits below cases and may not read cases' tables."""

from django.utils.functional import SimpleLazyObject

from cases import inapp


def notification_bell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": SimpleLazyObject(lambda: inapp.bell_count(user.pk))}
