"""The outbox: idempotent rows, e-mail templates, preferences, chat webhooks with retries, digest."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.utils import timezone

from accounts.models import Team
from cases.mail.addresses import reply_address
from cases.models import Case, Notification, NotificationPreference
from cases.notifications import MAX_ATTEMPTS, deliver, queue_manager_digests
from cases.services import case_assign, case_close, case_email_customer
from cases.tasks import manager_digest_task, notifications_dispatch_task, sla_sweep_task
from tests.cases.conftest import open_case, root_cause

pytestmark = pytest.mark.django_db


class FakeWebhook:
    """A local incoming-webhook endpoint: answers with the queued status codes, records bodies."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.bodies: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                fake.bodies.append(json.loads(self.rfile.read(length)))
                code = fake.statuses.pop(0) if len(fake.statuses) > 1 else fake.statuses[0]
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_an_assignment_e_mail_uses_the_templates(personas, django_capture_on_commit_callbacks):
    case = open_case()
    with django_capture_on_commit_callbacks(execute=True):
        case_assign(case_id=case.pk, by=personas.mia, assignee=personas.bob)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bob@example.com"]
    assert message.subject == f"[Closeloop] {case.reference} was assigned to you"
    assert "The parcel arrived broken." in message.body
    assert message.alternatives[0][1] == "text/html"
    assert Notification.objects.get(kind="assigned", channel="email").status == "sent"


def test_switching_a_kind_off_stops_it(personas):
    NotificationPreference.objects.create(user=personas.bob, kind="assigned", enabled=False)
    case = case_assign(case_id=open_case().pk, by=personas.mia, assignee=personas.bob)
    # No e-mail; the notification centre still lists it (cases.inapp).
    assert list(case.notifications.values_list("channel", "recipient")) == [("in_app", personas.bob.pk)]


def test_slack_and_teams_get_new_cases_and_a_failed_post_is_retried(personas, django_capture_on_commit_callbacks):
    with FakeWebhook(statuses=[500, 200]) as slack, FakeWebhook() as teams:
        Team.objects.filter(pk=personas.north.pk).update(slack_webhook_url=slack.url, msteams_webhook_url=teams.url)
        with django_capture_on_commit_callbacks(execute=True):
            case = open_case()
        failed = Notification.objects.get(channel="slack")
        assert (failed.status, failed.attempts) == ("pending", 1) and "500" in failed.error
        assert Notification.objects.get(channel="msteams").status == "sent"
        assert case.reference in teams.bodies[0]["text"]
        Notification.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
        notifications_dispatch_task()  # what the every-minute sweep does
        failed.refresh_from_db()
        assert (failed.status, failed.attempts) == ("sent", 2)
        assert len(slack.bodies) == 2


def test_a_delivery_that_keeps_failing_gives_up(personas):
    with FakeWebhook(statuses=[503]) as slack:
        Team.objects.filter(pk=personas.north.pk).update(slack_webhook_url=slack.url)
        open_case()
        row = Notification.objects.get(channel="slack")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
            deliver(row.pk)
            row.refresh_from_db()
            # Retried (still pending, a next attempt scheduled) until the last attempt gives up.
            expected = "failed" if attempt == MAX_ATTEMPTS else "pending"
            assert (row.status, row.attempts) == (expected, attempt)
        assert len(slack.bodies) == MAX_ATTEMPTS > 1
        assert deliver(row.pk) is False


def test_delivering_twice_sends_once(personas, django_capture_on_commit_callbacks):
    case = case_assign(case_id=open_case().pk, by=personas.mia, assignee=personas.bob)
    row = case.notifications.get(channel="email")
    assert deliver(row.pk) is True
    assert deliver(row.pk) is False
    assert len(mail.outbox) == 1


def test_a_dispatch_sends_its_claimed_rows_together_and_a_failing_row_alone(personas, settings):
    """Ten assignment e-mails and a Slack post that fails: the e-mails are read in one query,
    sent through one mail connection and recorded in one UPDATE; the post alone is rescheduled."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    opened = []
    settings.EMAIL_BACKEND = "tests.cases.test_notifications.CountingBackend"
    CountingBackend.opened = opened
    with FakeWebhook(statuses=[503]) as slack:
        Team.objects.filter(pk=personas.north.pk).update(slack_webhook_url=slack.url)
        for _ in range(10):
            case_assign(case_id=open_case().pk, by=personas.mia, assignee=personas.bob)
        with CaptureQueriesContext(connection) as queries:
            notifications_dispatch_task()
    emails = Notification.objects.filter(channel="email")
    assert emails.count() == 10 and set(emails.values_list("status", "attempts")) == {("sent", 1)}
    assert len(mail.outbox) == 10 and len(opened) == 1
    posts = Notification.objects.filter(channel="slack")
    assert set(posts.values_list("status", "attempts")) == {("pending", 1)}
    # Two claims (the rows, then none left: a stuck-row reset and a locking read in a savepoint,
    # and the claiming UPDATE for the first) 9, one read, one UPDATE for the sent rows, and one
    # per failed post.
    assert len(queries.captured_queries) <= 11 + posts.count(), "\n".join(
        q["sql"][:100] for q in queries.captured_queries)


class CountingBackend(locmem.EmailBackend):
    """The test mail backend, counting the connections opened."""

    opened: list = []

    def open(self):
        CountingBackend.opened.append(1)
        return super().open()


def test_the_sweep_task_delivers_overdue_e_mails_once(personas, django_capture_on_commit_callbacks):
    case = open_case()
    Case.objects.filter(pk=case.pk).update(first_contact_due=timezone.now() - dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep_task()
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep_task()
    assert [m.to for m in mail.outbox] == [["mia@example.com"]]
    assert mail.outbox[0].subject == f"[Closeloop] {case.reference} is overdue"


def test_a_sweep_that_finds_several_cases_sends_each_person_one_message_listing_them(
    personas, django_capture_on_commit_callbacks
):
    with FakeWebhook() as slack:
        Team.objects.filter(pk=personas.north.pk).update(slack_webhook_url=slack.url)
        cases = [open_case() for _ in range(3)]
        Case.objects.filter(pk__in=[c.pk for c in cases]).update(
            first_contact_due=timezone.now() - dt.timedelta(minutes=1))
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            sla_sweep_task()
        assert [m.to for m in mail.outbox] == [["mia@example.com"]]  # the manager; the cases have no assignee
        message = mail.outbox[0]
        assert message.subject == "[Closeloop] 3 cases are overdue"
        for case in cases:
            assert f"/cases/{case.reference}/" in message.body
            assert f'/cases/{case.reference}/">{case.reference}</a>' in message.alternatives[0][0]
        assert "/cases/?status=overdue" in message.body
        overdue_posts = [b["text"] for b in slack.bodies if b["text"].startswith("Overdue")]
        assert len(overdue_posts) == 1 and overdue_posts[0].startswith("Overdue: 3 cases became overdue: ")
        assert all(case.reference in overdue_posts[0] for case in cases)


def test_the_manager_digest_is_sent_once_a_day(personas, django_capture_on_commit_callbacks):
    closed = open_case()
    case_close(case_id=closed.pk, by=personas.alice, root_cause_id=root_cause("Damaged").pk, resolution="Replaced",
               outcome="resolved")
    late = open_case()
    Case.objects.filter(pk=late.pk).update(resolution_due=timezone.now() - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        manager_digest_task()
    with django_capture_on_commit_callbacks(execute=True):
        assert queue_manager_digests() == 1  # queued again, ignored by the outbox's uniqueness
    assert len(mail.outbox) == 1
    digest = mail.outbox[0]
    assert digest.to == ["mia@example.com"]
    assert digest.subject == "[Closeloop] Daily digest: 1 overdue, 0 due in 24 h"
    assert "Delivery > Damaged: 1" in digest.body


def test_e_mailing_the_customer_is_sent_by_a_task_and_recorded_as_a_contact(personas,
                                                                          django_capture_on_commit_callbacks):
    case = open_case()
    with django_capture_on_commit_callbacks(execute=True):
        case = case_email_customer(case_id=case.pk, by=personas.alice, subject="Sorry", body="We will fix it.")
    assert case.first_contacted_at is not None and case.status == "in_progress"
    event = case.events.get(kind="contact")
    assert event.data["channel"] == "email" and event.data["subject"] == "Sorry"
    # Replies come back to the case (cases/mail, tests/mail/), no longer to the agent's own mailbox.
    assert mail.outbox[0].to == [case.customer.email] and mail.outbox[0].reply_to == [reply_address(case.pk)]
