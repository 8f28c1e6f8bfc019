"""Issue #19 item 4 on the case page: a stale edit keeps what was typed and shows what changed;
the contact form chooses nothing for the agent; claim and start are one step; the timeline names
the clock that ran out; an unanswered attempt leaves the first-contact clock running unless the
team counts attempts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from cases.models import Case, CaseEvent
from cases.services import case_add_note, case_claim, case_close, case_log_contact, cases_sweep_sla
from tests.factories import PASSWORD
from tests.inbox.helpers import open_case, root_causes

HX = {"HX-Request": "true"}


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


def url(case, action=None) -> str:
    return f"/cases/{case.reference}/" + (f"{action}/" if action else "")


def textarea(html: str, element_id: str) -> str:
    match = re.search(rf'<textarea[^>]*id="{element_id}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea #{element_id}"
    return match.group(1).strip()


def hidden_version(html: str, form_id: str) -> str:
    match = re.search(rf'id="{form_id}-version"[^>]*value="(\d+)"|value="(\d+)"[^>]*id="{form_id}-version"', html)
    assert match, f"no version in #{form_id}"
    return match.group(1) or match.group(2)


@pytest.mark.parametrize("headers", [HX, {}], ids=["htmx", "page"])
def test_a_stale_note_is_kept_with_the_changes_since_and_can_be_sent_again(alice_client, personas, headers):
    case = open_case(personas.north)
    seen = case.version
    case_claim(case_id=case.pk, by=personas.bob)
    case_add_note(case_id=case.pk, by=personas.bob, note="Customer prefers e-mail")

    response = alice_client.post(url(case, "note"), {"version": seen, "note": "Calling her now,\nthen a voucher"},
                                 headers=headers)
    assert response.status_code == 409
    html = response.content.decode()
    assert not CaseEvent.objects.filter(case=case, kind="note", actor=personas.alice).exists()
    # What changed since the version Alice loaded, newest first, with the note's text.
    changes = re.search(r'<ol class="conflict-changes">(.*?)</ol>', html, re.S).group(1)
    items = re.findall(r"<li><strong>(.*?)</strong>", changes)
    assert items == ["bob added a note", "bob claimed this case"]
    assert "Customer prefers e-mail" in changes
    # Her text, in the note form, open, carrying the version she has now seen.
    assert textarea(html, "note-note") == "Calling her now,\nthen a voucher"
    assert re.search(r'<details class="action" id="action-note" open>', html)
    assert "Your text is kept in the form below." in html
    assert hidden_version(html, "note") == "3"

    again = alice_client.post(url(case, "note"), {"version": 3, "note": "Calling her now,\nthen a voucher"},
                              headers=HX)
    assert again.status_code == 200
    note = CaseEvent.objects.get(case=case, kind="note", actor=personas.alice)
    assert note.note == "Calling her now,\nthen a voucher" and note.version == 4


def test_a_stale_close_keeps_every_field(alice_client, personas):
    causes = root_causes()
    case = open_case(personas.north)
    seen = case.version
    case_claim(case_id=case.pk, by=personas.bob)
    response = alice_client.post(url(case, "close"), {
        "version": seen, "root_cause": causes["wait"].pk, "resolution": "Refunded the ticket",
        "outcome": "resolved", "prevention": "Open a second till"}, headers=HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert textarea(html, "close-resolution") == "Refunded the ticket"
    assert textarea(html, "close-prevention") == "Open a second till"
    assert re.search(rf'<option value="{causes["wait"].pk}" selected>', html)
    assert re.search(r'<option value="resolved" selected>', html)
    assert Case.objects.get(pk=case.pk).status == Case.Status.NEW


def test_text_for_an_action_that_no_longer_applies_is_shown_to_copy(alice_client, personas):
    causes = root_causes()
    case = open_case(personas.north)
    seen = case.version
    case_close(case_id=case.pk, by=personas.bob, root_cause_id=causes["wait"].pk, resolution="Done",
               outcome="resolved")
    response = alice_client.post(url(case, "contact"), {
        "version": seen, "channel": "phone", "outcome": "reached", "note": "She was happy"}, headers=HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "This can no longer be done on the case as it is now." in html
    assert re.search(r'<textarea readonly rows="3" class="kept-text">She was happy</textarea>', html)


def test_the_contact_form_chooses_nothing_and_says_what_is_missing(alice_client, personas):
    case = open_case(personas.north)
    html = alice_client.get(url(case)).content.decode()
    form = re.search(r'id="action-contact".*?</form>', html, re.S).group(0)
    # Only the placeholders ("Choose a channel…", "Choose what happened…") are selected.
    assert re.findall(r'<option value="([^"]*)" selected>', form) == ["", ""]
    response = alice_client.post(url(case, "contact"), {"version": case.version, "note": "tried"}, headers=HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Choose how you tried to reach the customer." in html
    assert "Choose what happened (reached, voicemail, no answer…)." in html
    case.refresh_from_db()
    assert case.first_contacted_at is None and not case.events.filter(kind="contact").exists()


def test_claim_and_start_is_one_button_and_one_change(alice_client, personas):
    case = open_case(personas.north)
    html = alice_client.get(url(case)).content.decode()
    assert "Claim and start" in html and "Claim this case" not in html
    response = alice_client.post(url(case, "start"), {"version": case.version}, headers=HX)
    assert response.status_code == 200
    assert f"{case.reference} is yours and in progress." in response.content.decode()
    case.refresh_from_db()
    assert (case.assignee, case.status, case.version) == (personas.alice, Case.Status.IN_PROGRESS, 2)
    assert list(case.events.order_by("id").values_list("kind", "version")) == [
        ("opened", 1), ("claimed", 2), ("status", 2)]
    # An in-progress case nobody holds still offers a plain claim.
    other = open_case(personas.north)
    Case.objects.filter(pk=other.pk).update(status=Case.Status.IN_PROGRESS)
    html = alice_client.get(url(other)).content.decode()
    assert "Claim this case" in html and "Claim and start" not in html


def test_an_unanswered_attempt_leaves_the_first_contact_clock_running(personas):
    case = open_case(personas.north)
    for outcome in ("no_answer", "voicemail", "wrong_number"):
        case = case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome=outcome)
        assert case.first_contacted_at is None, outcome
    reached = case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome="reached")
    assert reached.first_contacted_at is not None
    assert reached.events.filter(kind="contact").count() == 4


def test_a_team_that_counts_attempts_stops_the_clock_on_voicemail(personas):
    personas.north.unanswered_attempt_stops_first_contact = True
    personas.north.save(update_fields=["unanswered_attempt_stops_first_contact"])
    case = open_case(personas.north)
    case = case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome="voicemail")
    assert case.first_contacted_at is not None


def test_the_timeline_names_the_clock_that_ran_out(alice_client, personas):
    now = timezone.now()
    first = open_case(personas.north)
    Case.objects.filter(pk=first.pk).update(first_contact_due=now - dt.timedelta(hours=1),
                                            resolution_due=now + dt.timedelta(hours=30))
    late = open_case(personas.north)
    Case.objects.filter(pk=late.pk).update(first_contacted_at=now - dt.timedelta(days=2),
                                           first_contact_due=now - dt.timedelta(days=1),
                                           resolution_due=now - dt.timedelta(hours=1))
    assert cases_sweep_sla(now=now)["overdue"] == 2
    assert CaseEvent.objects.get(case=first, kind="overdue").to_value == "first contact"
    html = alice_client.get(url(first)).content.decode()
    assert "First contact is overdue" in html and "Resolution is overdue" not in html
    html = alice_client.get(url(late)).content.decode()
    assert "Resolution is overdue" in html and "First contact is overdue" not in html
