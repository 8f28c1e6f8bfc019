"""Keyboard shortcuts (static/js/shortcuts.js) in headless Chromium against a live server: each key
does what the help dialog says, and none fires while typing or with a modifier held."""

from __future__ import annotations

import pytest

from cases.models import Case
from tests.factories import PASSWORD
from tests.inbox.helpers import open_case, root_causes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


@pytest.fixture
def desk(browser, live_server, personas):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/cases/**")
    yield page
    context.close()


def test_keys_move_open_claim_note_close_search_and_help(desk, live_server, personas):
    page = desk
    root_causes()
    for n in range(3):
        open_case(personas.north, comment=f"Unhappy visit number {n}.")
    inbox = f"{live_server.url}/cases/?view=unassigned"
    page.goto(inbox)
    rows = page.locator("#inbox-results .case-row")
    expect()(rows).to_have_count(3)
    references = [rows.nth(i).locator("a.case-link").inner_text() for i in range(3)]

    # j / k move a visible focus through the list.
    page.keyboard.press("j")
    expect()(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect()(rows.nth(1)).to_be_focused()
    assert rows.nth(1).evaluate("row => getComputedStyle(row).outlineStyle") == "solid"
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect()(rows.nth(1)).to_be_focused()
    page.keyboard.press("Alt+j")  # a modifier: not a shortcut
    expect()(rows.nth(1)).to_be_focused()

    # ? opens the help dialog with focus inside; Esc closes it and focus returns to the row.
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect()(dialog).to_be_visible()
    expect()(dialog).to_contain_text("Next case in the list")
    assert page.evaluate("document.activeElement.closest('dialog') !== null")
    page.keyboard.press("j")  # keys go to the dialog, not to the list behind it
    page.keyboard.press("Escape")
    expect()(dialog).to_be_hidden()
    expect()(rows.nth(1)).to_be_focused()

    # o opens the focused case.
    page.keyboard.press("o")
    page.wait_for_url(f"{live_server.url}/cases/{references[1]}/")

    # Enter opens the focused case too.
    page.goto(inbox)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/cases/{references[0]}/")

    # c claims and starts.
    page.keyboard.press("c")
    expect()(page.locator("#case-actions-status")).to_contain_text(f"{references[0]} is yours and in progress.")
    expect()(page.locator("#case-actions-status")).to_be_focused()  # the swap has settled
    case = Case.objects.get(reference=references[0])
    assert (case.status, case.assignee) == (Case.Status.IN_PROGRESS, personas.alice)

    # n opens the note form with the cursor in it; typed letters stay letters.
    page.keyboard.press("n")
    note = page.locator("#note-note")
    expect()(note).to_be_focused()
    page.keyboard.type("Call back: x, c and ? are text here")
    expect()(note).to_have_value("Call back: x, c and ? are text here")
    expect()(page.locator("#action-close")).not_to_have_attribute("open", "")
    expect()(dialog).to_have_count(0)

    # x opens the close form, cursor on the root cause.
    note.blur()
    page.keyboard.press("x")
    expect()(page.locator("#action-close")).to_have_attribute("open", "")
    expect()(page.locator("#close-root_cause")).to_be_focused()

    # / puts the cursor in the inbox search.
    page.goto(inbox)
    page.keyboard.press("/")
    search = page.locator("#filter-q")
    expect()(search).to_be_focused()
    page.keyboard.type("jo")
    expect()(search).to_have_value("jo")
    assert page.url == inbox
