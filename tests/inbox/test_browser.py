"""The inbox and case page in a real browser (headless Chromium via Playwright, live server).

Data is created with the case services before navigating (live_server runs in another thread
against the same transactional database)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cases.services import case_add_note, case_claim, case_log_contact
from tests.factories import PASSWORD
from tests.inbox.helpers import make_case, make_customer, open_case, root_causes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def people(personas):
    for user, first, last in ((personas.alice, "Alice", "Morgan"), (personas.bob, "Bob", "Okafor")):
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    return personas


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/cases/**")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_an_agent_works_a_case_from_claim_to_closed(page, live_server, people):
    root_causes()
    case = open_case(people.north, comment="Waited forty minutes at the till and nobody came.")
    other = open_case(people.north, comment="Card reader broke twice.")
    hidden = open_case(people.south, comment="South's customer: not for Alice.")

    sign_in(page, live_server, "alice")
    page.get_by_role("link", name="Team all").click()
    expect()(page.get_by_role("link", name="Team all")).to_have_attribute("aria-current", "page")
    expect()(page.locator(".case-table")).to_contain_text(case.reference)
    expect()(page.locator(".case-table")).to_contain_text(other.reference)
    expect()(page.locator("#inbox-results")).not_to_contain_text(hidden.reference)
    assert "view=team" in page.url  # pushed: the address can be shared and reloaded

    page.get_by_role("link", name=case.reference).click()
    expect()(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    # The heading shows while the page is still parsing; a click before its scripts run is the
    # no-JavaScript form post (a redirect with a banner), not the in-place update checked here.
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Claim and start").click()
    expect()(page.locator("#case-actions-status")).to_contain_text(f"{case.reference} is yours and in progress.")
    expect()(page.locator("#case-header")).to_contain_text("Alice Morgan")

    page.get_by_label("Channel").select_option("phone")
    page.get_by_label("What happened").select_option("reached")
    page.locator("#contact-note").fill("Spoke to her, apologised, offered a refund.")
    page.get_by_role("button", name="Log contact").click()
    expect()(page.locator("#case-actions-status")).to_contain_text("Contact attempt logged")
    expect()(page.locator("#case-timeline")).to_contain_text("Alice Morgan logged a phone contact attempt (reached)")

    page.locator("#action-close summary").click()
    page.get_by_role("button", name="Close case").click()
    expect()(page.locator("#close-root_cause-error")).to_contain_text("Choose a root cause.")
    expect()(page.locator("#close-root_cause")).to_have_attribute("aria-invalid", "true")
    expect()(page.locator("#close-root_cause")).to_be_focused()

    page.locator("#close-root_cause").select_option(label="Long wait")
    page.locator("#close-resolution").fill("Refunded the purchase and apologised.")
    page.locator("#close-outcome").select_option("resolved")
    page.get_by_role("button", name="Close case").click()
    expect()(page.locator("#case-actions-status")).to_contain_text(f"{case.reference} is closed.")
    expect()(page.locator("#case-header")).to_contain_text("Closed")

    page.get_by_role("link", name="‹ Inbox").click()
    page.get_by_role("link", name="Recently closed").click()
    expect()(page.locator(".case-table")).to_contain_text(case.reference)
    expect()(page.locator(".case-table")).not_to_contain_text(other.reference)


def test_the_second_person_sees_who_changed_the_case(browser, live_server, people):
    case = open_case(people.north)
    alice_context, bob_context = browser.new_context(), browser.new_context()
    try:
        alice, bob = alice_context.new_page(), bob_context.new_page()
        sign_in(alice, live_server, "alice")
        sign_in(bob, live_server, "bob")
        for page in (alice, bob):
            page.goto(f"{live_server.url}/cases/{case.reference}/")
        alice.get_by_role("button", name="Claim and start").click()
        expect()(alice.locator("#case-actions-status")).to_contain_text("is yours and in progress")

        bob.locator("#action-note summary").click()
        bob.locator("#note-note").fill("Calling her now")
        bob.get_by_role("button", name="Add note").click()
        conflict = bob.locator(".banner.conflict")
        expect()(conflict).to_contain_text("This case changed while you were looking at it.")
        expect()(conflict.locator(".conflict-changes")).to_contain_text("Alice Morgan claimed this case")
        # Bob's note survived the conflict, with the current version: sending it again works.
        expect()(bob.locator("#note-note")).to_have_value("Calling her now")
        expect()(bob.locator("#case-header")).to_contain_text("Alice Morgan")
        expect()(bob.get_by_role("button", name="Take over from Alice Morgan")).to_be_visible()
        bob.get_by_role("button", name="Add note").click()
        expect()(bob.locator("#case-actions-status")).to_contain_text("Note added")
        expect()(bob.locator("#case-timeline")).to_contain_text("Calling her now")
    finally:
        alice_context.close()
        bob_context.close()


def _rich_data(people):
    """A believable morning: overdue, due soon, urgent, a CSAT case, and one case with history."""
    root_causes()
    make_case(people.north, nps=1, priority="urgent", first_contact_in=-timedelta(hours=3),
              customer=make_customer("Priya Raman", tier="Platinum", account_value=Decimal("48000")),
              comment="Third time my order arrived damaged. I am done with you unless someone calls me today.")
    make_case(people.north, nps=4, first_contact_in=timedelta(minutes=40), assignee=people.bob,
              customer=make_customer("Tom Becker", tier="Gold"),
              comment="The self-checkout kept freezing and staff ignored the queue.")
    make_case(people.north, nps=6, priority="high", first_contact_in=timedelta(hours=5),
              customer=make_customer("Marta Nowak", tier="Silver", account_value=Decimal("2300")),
              comment="Delivery slot missed, no message. https://example.com/a/very/long/link/that/should/wrap/nicely/on/a/phone")
    make_case(people.north, nps=None, response_extra={"csat": Decimal("2"), "csat_scale_min": 1, "csat_scale_max": 5},
              first_contact_in=timedelta(hours=20), customer=make_customer("Lee Chan", tier="Bronze"),
              comment="Returns desk was closed at 4pm on a Saturday.")
    case = open_case(people.north, nps=2, customer=make_customer("Dana Whitfield", tier="Gold"),
                     comment="Waited forty minutes at the till.\nWhen I asked for help I was told to wait again.")
    case = case_claim(case_id=case.pk, by=people.alice)
    case = case_log_contact(case_id=case.pk, by=people.alice, channel="phone", outcome="voicemail",
                            note="Left a voicemail, will try again after lunch.")
    case_add_note(case_id=case.pk, by=people.bob, note="She called the store too; manager knows.")
    return case


def test_phone_width_has_no_horizontal_scroll(browser, live_server, people):
    case = _rich_data(people)
    context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2)
    try:
        page = context.new_page()
        sign_in(page, live_server, "alice")
        page.goto(f"{live_server.url}/cases/?view=team")
        expect()(page.locator(".case-table")).to_contain_text(case.reference)
        assert no_horizontal_scroll(page)
        page.locator(".more-filters summary").click()
        assert no_horizontal_scroll(page)
        page.goto(f"{live_server.url}/cases/{case.reference}/")
        for summary in page.locator("details.action summary").all():
            summary.click()
        assert no_horizontal_scroll(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.goto(f"{live_server.url}/cases/?view=team")
        page.screenshot(path=str(SCREENSHOTS / "inbox-phone.png"))
    finally:
        context.close()


def test_screenshots_of_inbox_and_case_page(browser, live_server, people):
    case = _rich_data(people)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, live_server, "alice")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.goto(f"{live_server.url}/cases/?view=team")
        expect()(page.locator(".case-table")).to_contain_text(case.reference)
        page.screenshot(path=str(SCREENSHOTS / "inbox.png"), full_page=True)
        page.goto(f"{live_server.url}/cases/{case.reference}/")
        expect()(page.locator("#case-timeline")).to_contain_text("left a voicemail")
        page.screenshot(path=str(SCREENSHOTS / "case.png"), full_page=True)
    finally:
        context.close()
    assert (SCREENSHOTS / "inbox.png").stat().st_size > 10_000
    assert (SCREENSHOTS / "case.png").stat().st_size > 10_000
