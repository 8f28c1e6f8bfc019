"""The public "Did we put it right?" page: one answer per check, reopening on a low answer,
clear pages for expired or tampered links, rate limits, opt-out."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseEvent
from followup import services
from followup.models import Verification
from cases.timeline import event_note

pytestmark = pytest.mark.django_db

Kind = CaseEvent.Kind


def test_the_page_asks_the_question_without_sign_in_or_scripts(client, sent_check):
    verification, path = sent_check
    page = client.get(path)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Did we put it right?" in html
    assert all(f'value="{n}"' in html for n in range(11))
    assert "Don't ask me again" in html
    assert "<script" not in html  # works under the strict CSP, and on any phone
    assert 'name="viewport"' in html
    assert page["Cache-Control"].startswith("max-age=0")


def test_a_high_answer_is_recorded_on_the_timeline_and_the_case_stays_closed(client, sent_check):
    verification, path = sent_check
    answer = client.post(path, {"answer": "9", "comment": "All sorted, thank you."})
    assert answer.status_code == 302 and answer["Location"] == path
    thanks = client.get(path)
    assert thanks.status_code == 200 and "Thank you" in thanks.content.decode()
    assert "9 of 10" in thanks.content.decode()
    verification.refresh_from_db()
    assert (verification.status, verification.answer_value, verification.recovered) == ("answered", 9, True)
    assert verification.comment == "All sorted, thank you." and verification.answered_at is not None
    case = Case.objects.get(pk=verification.case_id)
    assert case.status == Case.Status.CLOSED and case.reopen_count == 0
    event = CaseEvent.objects.get(case=case, kind=Kind.VERIFICATION_ANSWER)
    assert event.to_value == "9 of 10" and event.note == "All sorted, thank you."
    assert event.data == {"verification_id": verification.pk, "recovered": True}


def test_a_low_answer_reopens_the_case_for_the_same_team(client, sent_check):
    verification, path = sent_check
    case = Case.objects.get(pk=verification.case_id)
    team, closed_version = case.team_id, case.version
    client.post(path, {"answer": "3", "comment": "Still no refund."})
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS and case.team_id == team and case.reopen_count == 1
    assert case.closed_at is None and case.resolution_due > timezone.now()
    kinds = list(CaseEvent.objects.filter(case=case, version__gt=closed_version).values_list("kind", flat=True))
    assert kinds == [Kind.VERIFICATION_ANSWER, Kind.STATUS, Kind.REOPENED]
    reopened = CaseEvent.objects.get(case=case, kind=Kind.REOPENED)
    assert event_note(reopened) == "The customer answered the recovery check: 3 of 10."
    thanks = client.get(path).content.decode()
    assert "the team will be in touch" in thanks


def test_a_second_answer_shows_the_first_and_changes_nothing(client, sent_check):
    verification, path = sent_check
    client.post(path, {"answer": "2"})
    again = client.post(path, {"answer": "10", "comment": "Actually fine"})
    assert again.status_code == 409
    assert "You already answered" in again.content.decode() and "2 of 10" in again.content.decode()
    verification.refresh_from_db()
    assert verification.answer_value == 2 and verification.comment == ""
    assert CaseEvent.objects.filter(case_id=verification.case_id, kind=Kind.VERIFICATION_ANSWER).count() == 1
    assert CaseEvent.objects.filter(case_id=verification.case_id, kind=Kind.REOPENED).count() == 1


def test_yes_no_questions(client, personas, mailoutbox, settings):
    from followup.tasks import verification_sweep_task
    from tests.followup.conftest import closed_case, link_path

    settings.VERIFICATION_QUESTION = "yes_no"
    case = closed_case()
    verification_sweep_task()
    path = link_path(mailoutbox[0].body)
    html = client.get(path).content.decode()
    assert 'value="yes"' in html and 'value="no"' in html and 'value="7"' not in html
    assert client.post(path, {"answer": "maybe"}).status_code == 400
    client.post(path, {"answer": "no"})
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS
    assert CaseEvent.objects.get(case=case, kind=Kind.VERIFICATION_ANSWER).to_value == "no"


@pytest.mark.parametrize("answer", ["11", "-1", "seven", ""])
def test_a_bad_answer_is_refused_with_a_message_and_nothing_recorded(client, sent_check, answer):
    verification, path = sent_check
    page = client.post(path, {"answer": answer, "comment": "kept"})
    assert page.status_code == 400
    html = page.content.decode()
    assert "Choose a number from 0 to 10." in html and "kept" in html
    verification.refresh_from_db()
    assert verification.status == "sent"
    assert not CaseEvent.objects.filter(case_id=verification.case_id, kind=Kind.VERIFICATION_ANSWER).exists()


def test_an_overlong_comment_is_refused(client, sent_check):
    verification, path = sent_check
    page = client.post(path, {"answer": "8", "comment": "x" * 2001})
    assert page.status_code == 400 and "Keep the comment under 2000 characters." in page.content.decode()
    verification.refresh_from_db()
    assert verification.status == Verification.Status.SENT, "nothing was recorded"


def test_a_tampered_link_gets_a_clear_400(client, sent_check):
    verification, path = sent_check
    token = path.split("/")[2]
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense", token.replace(":", "", 1)):
        page = client.get(reverse("followup:verify", args=[bad]))
        assert page.status_code == 400
        assert "This link does not work" in page.content.decode()
    # A signature made for something else (another salt) is refused too.
    other = signing.dumps(verification.pk, salt="somewhere.else")
    assert client.get(reverse("followup:verify", args=[other])).status_code == 400


def test_an_expired_link_gets_a_clear_400(client, sent_check, monkeypatch):
    verification, path = sent_check
    real = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: real - 15 * 86400)
    old_token = services.make_token(verification.pk)
    monkeypatch.undo()
    page = client.post(reverse("followup:verify", args=[old_token]), {"answer": "9"})
    assert page.status_code == 400 and "This link has expired" in page.content.decode()
    # The check's own expiry counts as well (the sweep marks it expired).
    Verification.objects.filter(pk=verification.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    page = client.get(path)
    assert page.status_code == 400 and "This link has expired" in page.content.decode()
    assert not CaseEvent.objects.filter(case_id=verification.case_id, kind=Kind.VERIFICATION_ANSWER).exists()


def test_a_link_to_a_check_that_was_never_sent_does_not_work(client, sent_check):
    verification, path = sent_check
    Verification.objects.filter(pk=verification.pk).update(status="skipped", skip_reason="opted_out")
    assert client.get(path).status_code == 400


def test_the_page_is_rate_limited_per_link(client, sent_check, settings):
    settings.VERIFICATION_RATE_PER_TOKEN = "3/m"
    verification, path = sent_check
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.post(path, {"answer": "9"})
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert "Too many attempts" in limited.content.decode()
    verification.refresh_from_db()
    assert verification.status == "sent"


def test_the_page_is_rate_limited_per_address(client, sent_check, settings):
    settings.VERIFICATION_RATE_PER_IP = "4/m"
    codes = [client.get(reverse("followup:verify", args=[f"guess{i}"])).status_code for i in range(6)]
    assert codes == [400, 400, 400, 400, 429, 429]
    # Another address is not affected.
    verification, path = sent_check
    assert client.get(path, REMOTE_ADDR="10.1.2.3").status_code == 200


def test_dont_ask_me_again_opts_the_customer_out(client, sent_check):
    verification, path = sent_check
    page = client.post(path, {"opt_out": "1"})
    assert page.status_code == 200 and "You will not be asked again" in page.content.decode()
    customer = verification.customer
    customer.refresh_from_db()
    assert customer.contact_opt_out is True
    assert customer.attributes["contact_opt_out"]["via"] == f"recovery check {verification.pk}"
    # The question itself can still be answered, once; the box is no longer offered.
    html = client.get(path).content.decode()
    assert "Don't ask me again" not in html
    assert client.post(path, {"answer": "10", "opt_out": "1"}).status_code == 302
    verification.refresh_from_db()
    assert verification.answer_value == 10


def test_an_answer_with_the_opt_out_box_records_both(client, sent_check):
    verification, path = sent_check
    client.post(path, {"answer": "8", "opt_out": "1"})
    verification.refresh_from_db()
    verification.customer.refresh_from_db()
    assert verification.recovered is True and verification.customer.contact_opt_out is True


def test_the_page_only_takes_get_and_post(client, sent_check):
    verification, path = sent_check
    assert client.put(path).status_code == 405
