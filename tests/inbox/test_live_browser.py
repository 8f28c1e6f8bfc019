"""Live updates in a real browser: an open inbox shows "1 new case" when a case is opened through
the service, without a reload and without moving the rows; a click brings it into the list; the
bell counts a mention as it arrives. Waits are on conditions with a deadline (Playwright's
expect), never sleeps."""

from __future__ import annotations

import pytest

from cases.services import case_add_note
from tests.factories import PASSWORD
from tests.inbox.helpers import open_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEADLINE_MS = 10_000  # the poll runs every 2 s (static/js/live.js)


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


def test_an_open_inbox_shows_a_new_case_and_a_mention_without_a_reload(page, live_server, personas):
    first = open_case(personas.north, comment="Already here when the page opened.")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/cases/**")
    page.get_by_role("link", name="Team all").click()
    expect()(page.locator("#inbox-results")).to_contain_text(first.reference)
    marker = page.locator("[data-live] .live-button")
    expect()(marker).to_be_hidden()

    new = open_case(personas.north, comment="Arrived while the inbox was open.")  # committed: live_server sees it
    expect()(marker).to_have_text("1 new case: show it", timeout=DEADLINE_MS)
    expect()(page.locator("#inbox-results")).not_to_contain_text(new.reference)  # rows stay put until asked

    marker.click()
    expect()(page.locator("#inbox-results")).to_contain_text(new.reference, timeout=DEADLINE_MS)
    expect()(marker).to_be_hidden()

    bell = page.locator("[data-live-bell]")
    expect()(bell).to_be_hidden()
    case_add_note(case_id=new.pk, by=personas.bob, note="@alice she asked for you by name")
    expect()(bell).to_have_text("1", timeout=DEADLINE_MS)
    page.locator("[data-live-bell-link]").click()
    expect()(page.locator(".notification-list")).to_contain_text(f"bob mentioned you on {new.reference}")
