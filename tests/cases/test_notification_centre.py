"""The notification centre (cases.inapp): @mentions in notes, assignments, the bell's unread count,
the page and /api/v1/notifications/, each user seeing only their own."""

from __future__ import annotations

import pytest
from django.core import mail

from cases.models import Notification, NotificationPreference
from cases.services import case_add_note, case_assign
from tests.cases.conftest import open_case
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

API = "/api/v1/notifications/"


def centre(user) -> list[tuple[str, str]]:
    return list(Notification.objects.filter(recipient=user, channel="in_app")
                .order_by("id").values_list("kind", "case__reference"))


def test_a_mention_notifies_the_mentioned_user_only(personas, django_capture_on_commit_callbacks):
    case = open_case()  # North: alice, bob, mia; charlie is South
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case_id=case.pk, by=personas.alice,
                      note="@bob can you call her back? (@alice, @charlie and @nobody: not you.)")
    assert centre(personas.bob) == [("mentioned", case.reference)]
    assert centre(personas.alice) == []  # the writer
    assert centre(personas.charlie) == []  # cannot see the case
    assert centre(personas.mia) == []  # not mentioned
    row = Notification.objects.get(recipient=personas.bob, channel="in_app")
    assert row.context == {"by": "alice", "note": "@bob can you call her back? (@alice, @charlie and @nobody: not you.)"}
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert mail.outbox[0].subject == f"[Closeloop] alice mentioned you on {case.reference}"


def test_a_mention_e_mails_only_those_who_want_it_but_always_reaches_the_centre(personas):
    NotificationPreference.objects.create(user=personas.bob, kind="mentioned", enabled=False)
    case = open_case()
    case_add_note(case_id=case.pk, by=personas.alice, note="Thanks @bob. @mia, fyi.")
    assert sorted(Notification.objects.filter(case=case, kind="mentioned")
                  .values_list("recipient__username", "channel")) == [
        ("bob", "in_app"), ("mia", "email"), ("mia", "in_app")]


def test_an_admin_mentioned_anywhere_is_notified(personas):
    case = open_case()
    case_add_note(case_id=case.pk, by=personas.alice, note="Escalating to @adam.")
    assert centre(personas.adam) == [("mentioned", case.reference)]


def test_unread_count_marking_read_and_the_bell(client, personas, django_capture_on_commit_callbacks):
    first, second = open_case(), open_case()
    case_assign(case_id=first.pk, by=personas.mia, assignee=personas.bob)
    case_add_note(case_id=second.pk, by=personas.alice, note="@bob look")
    client.login(username="bob", password=PASSWORD)
    page = client.get("/cases/notifications/").content.decode()
    assert "2 unread" in page
    assert f"{first.reference} was assigned to you." in page
    assert "alice mentioned you on" in page
    assert 'aria-label="Notifications: 2 unread"' in page  # the bell in the navigation

    one = Notification.objects.get(recipient=personas.bob, channel="in_app", kind="assigned")
    with django_capture_on_commit_callbacks(execute=True):  # the commit tells the bell's cache
        assert client.post("/cases/notifications/read/", {"id": one.pk}).status_code == 302
    one.refresh_from_db()
    assert one.read_at is not None
    assert 'aria-label="Notifications: 1 unread"' in client.get("/cases/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/cases/notifications/read/", {"all": "1"})
    assert 'aria-label="Notifications: 0 unread"' in client.get("/cases/").content.decode()
    assert not Notification.objects.filter(recipient=personas.bob, channel="in_app", read_at__isnull=True).exists()
    assert "All read" in client.get("/cases/notifications/").content.decode()


def test_the_api_lists_and_marks_only_the_callers_own(api_client, personas):
    case = open_case()
    case_assign(case_id=case.pk, by=personas.mia, assignee=personas.bob)
    case_add_note(case_id=case.pk, by=personas.bob, note="@alice over to you")
    bobs = Notification.objects.get(recipient=personas.bob, channel="in_app")

    api_client.force_authenticate(personas.alice)
    listed = api_client.get(API)
    assert listed.status_code == 200
    assert listed["X-Unread-Count"] == "1"
    assert [(n["kind"], n["reference"], n["read"]) for n in listed.json()["results"]] == [
        ("mentioned", case.reference, False)]
    assert api_client.post(f"{API}{bobs.pk}/read/").status_code == 404  # bob's: not alice's to see
    bobs.refresh_from_db()
    assert bobs.read_at is None

    mine = listed.json()["results"][0]["id"]
    read = api_client.post(f"{API}{mine}/read/")
    assert read.status_code == 200 and read.json()["read"] is True
    assert api_client.get(API, {"unread": "true"}).json()["results"] == []
    assert api_client.get(API, {"unread": "maybe"}).status_code == 400

    api_client.force_authenticate(personas.bob)
    assert api_client.post(f"{API}read-all/").json() == {"marked": 1}
    assert api_client.post(f"{API}read-all/").json() == {"marked": 0}


def test_the_api_needs_a_signed_in_caller(api_client, personas):
    assert api_client.get(API).status_code == 401


def test_the_bell_asks_the_database_only_after_its_count_changed(personas, django_capture_on_commit_callbacks,
                                                                  django_assert_num_queries):
    from cases.inapp import bell_count, notifications_mark_read

    case = open_case()
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case_id=case.pk, by=personas.alice, note="@bob first")
    assert bell_count(personas.bob.pk) == 1
    with django_assert_num_queries(0):
        assert bell_count(personas.bob.pk) == 1
    with django_capture_on_commit_callbacks(execute=True):
        case_add_note(case_id=case.pk, by=personas.alice, note="@bob second")
    assert bell_count(personas.bob.pk) == 2
    with django_capture_on_commit_callbacks(execute=True):
        notifications_mark_read(user=personas.bob)
    assert bell_count(personas.bob.pk) == 0


def test_an_escalation_reaches_the_bells_of_the_assignee_and_the_managers(personas,
                                                                         django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    from accounts.models import Team
    from cases.inapp import bell_count
    from cases.models import Case
    from cases.services import case_claim, cases_sweep_sla

    Team.objects.filter(pk=personas.north.pk).update(escalation_delay_minutes=0)
    case = case_claim(case_id=open_case().pk, by=personas.alice)
    assert (bell_count(personas.alice.pk), bell_count(personas.mia.pk)) == (0, 0)  # cached at 0
    Case.objects.filter(pk=case.pk).update(first_contact_due=timezone.now() - dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert cases_sweep_sla(now=timezone.now())["escalated"] == 1
    assert (bell_count(personas.alice.pk), bell_count(personas.mia.pk), bell_count(personas.bob.pk)) == (1, 1, 0)
