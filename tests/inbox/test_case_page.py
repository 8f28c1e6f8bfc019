"""The case page: the customer's words first, the customer card, the clocks, why the case exists,
the timeline; actions in place (HTMX) and as plain posts; errors next to fields; stale edits."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from cases.models import Case, CaseEvent, EmailTemplate, Notification
from cases.services import case_add_note, case_claim, case_log_contact
from tests.factories import PASSWORD
from tests.inbox.helpers import make_customer, make_response, open_case, root_causes

HX = {"HX-Request": "true"}
# Session, user, memberships, the case, events, earlier responses, earlier cases, and the action
# forms' choices (people, teams, root causes, e-mail templates): the same for 1 event or 100.
CASE_QUERY_CEILING = 16  # 13 + the bell's unread count + the two-factor check (device, and the role policy cold)


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


def url(case, action=None) -> str:
    return f"/cases/{case.reference}/" + (f"{action}/" if action else "")


def test_a_case_of_another_team_is_not_found(alice_client, personas):
    south = open_case(personas.south)
    assert alice_client.get(url(south)).status_code == 404
    assert alice_client.post(url(south, "claim"), {"version": south.version}).status_code == 404
    south.refresh_from_db()
    assert south.assignee is None


def test_the_page_starts_with_the_customers_words(alice_client, personas):
    case = open_case(personas.north, nps=2, comment="Nobody answered the phone.\nTwice.")
    html = alice_client.get(url(case)).content.decode()
    words = html.index("In the customer’s words")
    assert words < html.index("<h2 id=\"customer-h\">") < html.index("SLA clocks") < html.index("Why this case exists")
    # The actions come right after the words (on a phone, the second thing on the page).
    assert words < html.index('id="actions-h"') < html.index("<h2 id=\"customer-h\">") < html.index("Timeline")
    assert "NPS 2</strong> <span class=\"scale\">on 0–10</span> <span class=\"score-word\">detractor" in html
    assert "Nobody answered the phone.<br>Twice." in html
    assert "Store visit" in html and "Checkout" in html and "Leeds" in html
    assert "Detractor for North (normal)" in html and "NPS 2 is at most 6" in html
    assert "First contact" in html and "Resolution" in html


def test_the_customer_card_shows_history(alice_client, personas):
    first = open_case(personas.north, comment="First complaint")
    customer = first.customer
    from cases.services import case_close

    case_close(case_id=first.pk, by=personas.alice, root_cause_id=root_causes()["wait"].pk,
               resolution="Sorted", outcome="resolved")
    Case.objects.filter(pk=first.pk).update(closed_at=first.created_at.replace(year=2020))
    make_response(customer=customer, team=personas.north, nps=9, comment="Actually great this time")
    second = open_case(personas.north, customer=customer, comment="Broken again")
    html = alice_client.get(url(second)).content.decode()
    assert "Gold" in html and "12,500" in html and customer.email in html and "tel:+44" in html
    assert "Actually great this time" in html and "promoter" in html
    assert first.reference in html and "Long wait" in html


def test_claim_in_place_with_htmx(alice_client, personas):
    case = open_case(personas.north)
    response = alice_client.post(url(case, "claim"), {"version": case.version}, headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="case-actions"')
    assert f"You claimed {case.reference}." in html
    assert 'id="case-header" class="card case-header' in html and 'hx-swap-oob="true"' in html
    assert "alice claimed this case" in html  # the timeline, out of band
    case.refresh_from_db()
    assert case.assignee == personas.alice
    assert f'name="version" value="{case.version}"' in html


def test_claim_without_javascript_redirects(alice_client, personas):
    case = open_case(personas.north)
    response = alice_client.post(url(case, "claim"), {"version": case.version})
    assert response.status_code == 302 and response["Location"] == url(case)
    assert f"You claimed {case.reference}." in alice_client.get(url(case)).content.decode()


def test_log_contact_stops_the_first_contact_clock(alice_client, personas):
    case = open_case(personas.north)
    alice_client.post(url(case, "contact"), {"version": case.version, "channel": "phone", "outcome": "voicemail",
                                             "note": "Left a message"}, headers=HX)
    case.refresh_from_db()
    # A voicemail is logged and starts the work, but only reaching the customer meets the target.
    assert case.first_contacted_at is None and case.status == Case.Status.IN_PROGRESS
    alice_client.post(url(case, "contact"), {"version": case.version, "channel": "phone", "outcome": "reached"},
                      headers=HX)
    case.refresh_from_db()
    assert case.first_contacted_at is not None
    html = alice_client.get(url(case)).content.decode()
    assert "alice logged a phone contact attempt (left a voicemail)" in html
    assert "met," in html


def test_close_without_root_cause_shows_errors_next_to_fields(alice_client, personas):
    root_causes()
    case = open_case(personas.north)
    response = alice_client.post(url(case, "close"), {"version": case.version, "resolution": "", "outcome": ""},
                                 headers=HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'id="close-root_cause"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="close-root_cause"', html)
    assert 'id="close-root_cause-error"' in html and "Choose a root cause." in html
    assert "Say what was done for the customer." in html and "Choose an outcome." in html
    assert "<optgroup label=\"Service\">" in html  # root causes grouped by category
    case.refresh_from_db()
    assert case.status == Case.Status.NEW


def test_close_and_reopen(alice_client, personas):
    case = open_case(personas.north)
    cause = root_causes()["rude"]
    response = alice_client.post(url(case, "close"), {
        "version": case.version, "root_cause": cause.pk, "resolution": "Apologised, voucher sent.",
        "outcome": "resolved", "prevention": "Refresher training",
    }, headers=HX)
    html = response.content.decode()
    assert "is closed." in html and "Service › Staff attitude" in html and "Refresher training" in html
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.root_cause == cause
    response = alice_client.post(url(case, "reopen"), {"version": case.version, "reason": ""}, headers=HX)
    assert response.status_code == 422 and "Say why the case is reopened." in response.content.decode()
    alice_client.post(url(case, "reopen"), {"version": case.version, "reason": "Customer called back"}, headers=HX)
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS


def test_a_stale_edit_shows_who_changed_what(alice_client, personas):
    case = open_case(personas.north)
    seen_version = case.version
    case_claim(case_id=case.pk, by=personas.bob)
    response = alice_client.post(url(case, "note"), {"version": seen_version, "note": "Calling now"}, headers=HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "This case changed while you were looking at it." in html
    assert "bob claimed this case at" in html
    assert f'href="{url(case)}">Reload the case</a>' in html
    assert not CaseEvent.objects.filter(case=case, kind="note").exists()
    # Without JavaScript: the whole page, with the same message.
    response = alice_client.post(url(case, "note"), {"version": seen_version, "note": "Calling now"})
    assert response.status_code == 409 and "bob claimed this case at" in response.content.decode()


def test_reassign_and_take_over(alice_client, personas):
    case = open_case(personas.north)
    alice_client.post(url(case, "assign"), {"version": case.version,
                                            "assignee": f"{personas.north.pk}:{personas.bob.pk}"}, headers=HX)
    case.refresh_from_db()
    assert case.assignee == personas.bob
    html = alice_client.get(url(case)).content.decode()
    assert "Take over from bob" in html
    alice_client.post(url(case, "take"), {"version": case.version}, headers=HX)
    case.refresh_from_db()
    assert case.assignee == personas.alice


def test_the_action_panel_escapes_names_and_addresses_in_its_words(alice_client, personas):
    """The panel's sentences with a value in them ("Take over from ...", "To ... Replies come back
    to you.", "Closed by ...") print the value as text, and the translated words around it."""
    personas.bob.first_name, personas.bob.last_name = "<b>Bob</b>", "O'Neil"
    personas.bob.save(update_fields=["first_name", "last_name"])
    case = open_case(personas.north, customer=make_customer(email="dana+<x>@example.com"))
    case_claim(case_id=case.pk, by=personas.bob, expected_version=case.version)
    html = alice_client.get(url(case)).content.decode()
    assert "Take over from &lt;b&gt;Bob&lt;/b&gt; O&#39;Neil</button>" in html
    assert "<p class=\"muted\">To dana+&lt;x&gt;@example.com. Replies come back to you.</p>" in html
    assert ">Claim &amp; start<" not in html  # bob holds it: no claim in the bar
    with translation.override("de"):
        fresh = open_case(personas.north)
        assert ">Übernehmen &amp; starten</button>" in alice_client.get(url(fresh), headers={"Accept-Language": "de"}).content.decode()


def test_reassign_needs_a_person_or_team(alice_client, personas):
    case = open_case(personas.north)
    response = alice_client.post(url(case, "assign"), {"version": case.version}, headers=HX)
    assert response.status_code == 422 and "Choose a person or a team." in response.content.decode()
    before = (case.version, case.team_id, case.assignee_id)
    case.refresh_from_db()
    assert (case.version, case.team_id, case.assignee_id) == before


def test_change_priority(alice_client, personas):
    case = open_case(personas.north)
    response = alice_client.post(url(case, "priority"), {"version": case.version, "priority": "high"}, headers=HX)
    assert "High priority" in response.content.decode()
    case.refresh_from_db()
    assert case.priority == "high"


def test_email_the_customer_from_a_template(alice_client, personas):
    template = EmailTemplate.objects.create(
        name="Sorry", subject="About your visit, {{ customer.name }}", body="Hello {{ customer.name }}, {{ agent.name }} here."
    )
    case = open_case(personas.north)
    response = alice_client.post(url(case, "email"), {"version": case.version, "fill": "1", "template": template.pk},
                                 headers=HX)
    html = response.content.decode()
    assert f"About your visit, {case.customer.name}" in html and "alice here." in html
    alice_client.post(url(case, "email"), {"version": case.version, "subject": "Sorry", "body": "We will fix it."},
                      headers=HX)
    assert Notification.objects.filter(case=case, kind="customer_email", address=case.customer.email).exists()
    case.refresh_from_db()
    assert case.first_contacted_at is not None


@pytest.mark.parametrize("n_events", [1, 100])
def test_case_page_query_count_is_fixed(alice_client, personas, django_assert_max_num_queries, n_events):
    case = open_case(personas.north)
    for i in range(n_events):
        case = case_add_note(case_id=case.pk, by=personas.bob if i % 2 else personas.alice, note=f"Note {i}")
    case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome="reached")
    with django_assert_max_num_queries(CASE_QUERY_CEILING):
        response = alice_client.get(url(case))
    assert response.content.decode().count('class="event event-') == n_events + 4  # + opened, claim, status, contact


def test_the_timeline_reads_each_event_and_escapes_what_people_typed(alice_client, personas):
    """The timeline's entries (cases.timeline_rows, rendered by Jinja2): the sentence, when, the
    kind, the closure's root cause, and a note escaped with its line breaks kept."""
    from cases.services import case_close

    case = open_case(personas.north)
    case = case_add_note(case_id=case.pk, by=personas.alice, note="<b>Called</b> twice\nno answer")
    case_close(case_id=case.pk, by=personas.alice, root_cause_id=root_causes()["wait"].pk,
               resolution="Sorted", outcome="resolved")
    html = alice_client.get(url(case)).content.decode()
    timeline = html[html.index('id="case-timeline"'):]
    assert '<p class="event-note">&lt;b&gt;Called&lt;/b&gt; twice<br>no answer</p>' in timeline
    assert "<b>Called</b>" not in timeline
    assert "Root cause: Service &gt; Long wait" in timeline  # str(RootCause), escaped
    assert re.search(r'<p class="muted event-meta"><time datetime="\d{4}-\d\d-\d\dT[^"]+">\w{3} \d{1,2} \w{3}, '
                     r'\d\d:\d\d [A-Z][A-Za-z0-9+:-]*</time> · Note</p>', timeline)  # the viewer's zone named
    assert timeline.index("Closed") < timeline.index("Note") < timeline.index("Case opened")  # newest first
