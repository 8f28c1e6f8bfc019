"""Recognition: a promoter's comment naming a member of staff or a location becomes a Recognition,
e-mailed to the managers (and the person, in copy) once.

    recognition_for_alert(alert=...)  # from the praise alert hook, inside the recording transaction
    recognition_notify(recognition_id=...)  # the e-mail to the managers, once
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import unicodedata

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from accounts.preferences import speaking_to
from core.process_cache import ProcessCache
from core.queueing import enqueue_on_commit
from core.unit_of_work import insert
from followup.models import Recognition
from surveys.models import SurveyResponse
from surveys.vocabulary import is_promoter

logger = logging.getLogger(__name__)

LOCATIONS_CACHE_KEY = "followup:known_locations"
LOCATIONS_CACHE_SECONDS = 600
MIN_LOCATION_LENGTH = 3
RECOGNITION_NOTIFY_TASK = "followup.tasks.recognition_notify_task"


def fold(text: str) -> str:
    """Lower case without accents, whitespace collapsed: "Zoë  MÜLLER" -> "zoe muller"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _find(needle: str, haystack: str) -> int:
    """Position of `needle` in `haystack` as whole words (both folded), or -1."""
    if not needle:
        return -1
    match = re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", haystack)
    return match.start() if match else -1


class StaffDirectory:
    """Who a comment can name, indexed for matching: active users' full names, and the first
    names of each team's active members; each folded name maps to the ids that carry it. Kept
    per process (`staff_directory()`), so recognising a praise costs no query."""

    def __init__(self, full_names: dict[str, set[int]], first_names: dict[int, dict[str, set[int]]]):
        self.full_names, self.first_names = full_names, first_names
        # Names by their first word: a comment is only compared with the names that could start
        # at one of its words, not with every user in the company.
        self._full_by_word = self._by_first_word(full_names)
        self._first_by_team = {team: self._by_first_word(names) for team, names in first_names.items()}

    @staticmethod
    def _by_first_word(names: dict[str, set[int]]) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name in names:
            first = re.search(r"\w+", name)  # "jean-luc picard" under "jean", as the comment splits it
            index.setdefault(first.group() if first else "", []).append(name)
        return index

    @staticmethod
    def _found(folded: str, names: dict[str, set[int]], by_word: dict[str, list[str]]) -> dict[int, int]:
        found: dict[int, int] = {}
        words = set(re.findall(r"\w+", folded)) | {""}
        for word in words:
            for name in by_word.get(word, ()):
                ids = names[name]
                position = _find(name, folded)
                if position >= 0 and len(ids) == 1:
                    found[next(iter(ids))] = position
        return found

    def named(self, folded: str, team_id: int | None) -> int | None:
        found = self._found(folded, self.full_names, self._full_by_word)
        if not found and team_id in self.first_names:
            found = self._found(folded, self.first_names[team_id], self._first_by_team[team_id])
        if not found:
            return None
        best = min(found.values())
        winners = [uid for uid, position in found.items() if position == best]
        return winners[0] if len(winners) == 1 else None


def _load_staff_directory() -> StaffDirectory:
    full_names: dict[str, set[int]] = {}
    for uid, first, last in User.objects.filter(is_active=True).exclude(first_name="").exclude(last_name="") \
            .values_list("pk", "first_name", "last_name"):
        full_names.setdefault(fold(f"{first} {last}"), set()).add(uid)
    first_names: dict[int, dict[str, set[int]]] = {}
    for team_id, uid, first in Membership.objects.filter(user__is_active=True).exclude(user__first_name="") \
            .values_list("team_id", "user_id", "user__first_name"):
        first_names.setdefault(team_id, {}).setdefault(fold(first), set()).add(uid)
    return StaffDirectory(full_names, first_names)


_staff = ProcessCache("followup:staff-directory:version", _load_staff_directory,
                      check_seconds=lambda: settings.ALERT_RULES_CHECK_SECONDS, what="staff directory")


def staff_directory() -> StaffDirectory:
    return _staff.get()


def staff_changed() -> None:
    """After a user or membership change: this process reloads now, the others on their next check."""
    _staff.changed()


def named_user(comment: str, *, team_id: int | None) -> User | None:
    """The active user the comment names: a full name anywhere among active users, else a first
    name that is unique among the members of `team_id` (the response's team). Whole words, case
    and accents ignored; the earliest mention wins; a name two people share names nobody."""
    folded = fold(comment)
    if not folded:
        return None
    uid = staff_directory().named(folded, team_id)
    return User.objects.filter(pk=uid, is_active=True).first() if uid is not None else None


_locations_here: tuple[float, list[str]] | None = None  # (read at, values): this process's copy


def known_locations() -> list[str]:
    """Distinct SurveyResponse.location values, cached for LOCATIONS_CACHE_SECONDS in the shared
    cache; each process re-reads that copy at most every ALERT_RULES_CHECK_SECONDS (every praise
    alert asks, and a Redis round trip per promoter showed in the worker's profile)."""
    global _locations_here
    interval = settings.ALERT_RULES_CHECK_SECONDS
    here = _locations_here
    if here is not None and interval and time.monotonic() - here[0] < interval:
        return here[1]
    try:
        cached = cache.get(LOCATIONS_CACHE_KEY)
    except Exception:  # noqa: BLE001 - no cache: read the database
        cached = None
    if cached is not None:
        _locations_here = (time.monotonic(), cached)
        return cached
    values = sorted(set(
        SurveyResponse.objects.exclude(location="").order_by().values_list("location", flat=True).distinct()[:5000]
    ))
    try:
        cache.set(LOCATIONS_CACHE_KEY, values, LOCATIONS_CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("known locations not cached")
    _locations_here = (time.monotonic(), values)
    return values


def named_location(response: SurveyResponse, comment: str) -> str:
    """The known location the comment names (the longest one named; the response's own location
    counts as known), or ""."""
    folded = fold(comment)
    candidates = set(known_locations())
    if response.location:
        candidates.add(response.location)
    named = [loc for loc in candidates if len(fold(loc)) >= MIN_LOCATION_LENGTH and _find(fold(loc), folded) >= 0]
    return max(named, key=lambda loc: (len(loc), loc == response.location)) if named else ""


def recognition_recipients(*, praised_user: User | None, team_id: int | None) -> tuple[list[User], list[User]]:
    """(to, cc): the managers of the praised person's teams (of the response's team for a
    location), with the person in copy; the person alone when they have no manager. Active users
    with an e-mail address only."""
    if praised_user is not None:
        team_ids = list(Membership.objects.filter(user=praised_user).values_list("team_id", flat=True))
    else:
        team_ids = [team_id] if team_id else []
    managers = list(
        User.objects.filter(memberships__team_id__in=team_ids, memberships__is_manager=True, is_active=True)
        .exclude(email="").distinct().order_by("pk")
    )
    person = praised_user if praised_user is not None and praised_user.is_active and praised_user.email else None
    to = [m for m in managers if person is None or m.pk != person.pk]
    cc = [person] if person is not None else []
    if not to and cc:
        to, cc = cc, []
    return to, cc


def recognition_for_alert(*, alert, new_response: bool = False) -> Recognition | None:
    """From a praise alert on a promoter's response: if the comment (or the alert) names a member
    of staff or a location, record the recognition and e-mail it to the managers after commit.
    Idempotent per response. Runs inside the transaction that recorded the response;
    `new_response`: recorded in it and not recognized yet (the caller sees to one per response),
    so nothing is looked up and the row goes with the batch's others."""
    response = alert.response
    if not is_promoter(response):
        return None
    if not new_response and Recognition.objects.filter(response_id=response.pk).exists():
        return None
    team_id = response.team_id
    if team_id is None:
        # Alerts are raised before cases routes the response (both on response_recorded): ask
        # routing for the team it is about to get (without touching the response: cases sets it).
        from cases.routing import route_team_id

        team_id = route_team_id(response)
    comment = response.comment or ""
    person = alert.praised_user if alert.praised_user_id else named_user(comment, team_id=team_id)
    location = "" if person is not None else named_location(response, comment)
    if person is None and not location:
        return None
    if person is not None:
        person_teams = list(Membership.objects.filter(user=person).order_by("team_id").values_list("team_id", flat=True))
        if person_teams and team_id not in person_teams:
            team_id = person_teams[0]
    to, cc = recognition_recipients(praised_user=person, team_id=team_id)
    score = response.nps if response.nps is not None else (int(response.csat) if response.csat is not None else None)
    fields = {
        "alert": alert, "praised_user": person, "location": location, "team_id": team_id, "quote": comment,
        "score": score, "created_at": response.answered_at if response.answered_at < timezone.now() else timezone.now(),
        "recipients": [u.pk for u in to + cc],
    }
    if new_response:  # a new response has no recognition yet
        recognition, created = insert(Recognition(response=response, **fields)), True
    else:
        recognition, created = Recognition.objects.get_or_create(response=response, defaults=fields)
    if created and recognition.recipients:
        enqueue_on_commit(RECOGNITION_NOTIFY_TASK, recognition.pk, if_down="the sweep will send it")
    return recognition if created else None


def recognition_notify(*, recognition_id: int) -> str:
    """E-mail a recognition to its recipients once. The claim (notified_at set while sending)
    lets one run send it; a transport error clears the claim and raises, so the task retries."""
    now = timezone.now()
    claimed = Recognition.objects.filter(pk=recognition_id, notified_at__isnull=True).exclude(recipients=[]).update(
        notified_at=now)
    if not claimed:
        return "skipped"
    recognition = Recognition.objects.select_related("response", "response__customer", "praised_user", "team").get(
        pk=recognition_id)
    people = {u.pk: u for u in User.objects.filter(pk__in=recognition.recipients, is_active=True).exclude(email="")}
    person_id = recognition.praised_user_id
    to = [u for pk, u in sorted(people.items()) if pk != person_id]
    cc = [people[person_id]] if person_id in people else []
    if not to:
        to, cc = cc, []
    if not to:
        return "skipped"
    response = recognition.response
    context = {
        "recognition": recognition, "response": response, "praised_user": recognition.praised_user,
        "location": recognition.location, "site_url": settings.SITE_URL,
        "feed_url": settings.SITE_URL + reverse("followup:recognition"),
        "customer_name": (response.customer.name if response.customer else "") or "",
        "to_person": [u.pk for u in to] == [person_id],
    }
    with speaking_to(to[0]):  # the first recipient's language and zone (accounts.preferences)
        subject = " ".join(render_to_string("emails/recognition-subject.txt", context).split())
        text = render_to_string("emails/recognition-body.txt", context)
        html = render_to_string("emails/recognition-body.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[u.email for u in to], cc=[u.email for u in cc])
    message.attach_alternative(html, "text/html")
    try:
        with get_connection() as connection:
            connection.send_messages([message])
    except Exception:
        Recognition.objects.filter(pk=recognition_id, notified_at=now).update(notified_at=None)
        raise
    return "sent"


def recognitions_owed(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Recognitions whose e-mail was never sent (broker down, or retries used up), from the last day."""
    now = now or timezone.now()
    return list(
        Recognition.objects.filter(notified_at__isnull=True, created_at__gte=now - dt.timedelta(days=1),
                                   created_at__lt=now - dt.timedelta(minutes=1))
        .exclude(recipients=[]).order_by("created_at").values_list("pk", flat=True)[:limit]
    )

