"""The column chooser in Chromium: chosen with the keyboard, applied in place, saved in a view and
restored when the view is opened, back and forward through the choices; axe-core clean with the
chooser open; at 375 px the card keeps its compact form; without JavaScript the chooser is a plain
GET form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cases.saved_views.models import SavedView
from tests.inbox.helpers import make_case
from tests.inbox.test_browser import expect, no_horizontal_scroll, sign_in
from tests.test_accessibility import AXE_SCRIPT, ID_REFERENCES, run_axe, summarise

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def header(page, text: str):
    return page.locator(".case-table thead th", has_text=re.compile(rf"^{re.escape(text)}$"))


def test_choose_columns_with_the_keyboard_save_the_view_and_reopen_it(page, live_server, personas):
    make_case(personas.north, priority="urgent", comment="cold food", first_contact_in=timedelta(hours=2))
    make_case(personas.north, comment="broken till", first_contact_in=-timedelta(hours=1))
    page.context.add_init_script(AXE_SCRIPT)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/cases/?view=team")
    expect()(header(page, "Comment")).to_be_visible()
    expect()(header(page, "Age")).to_have_count(0)

    # Keyboard only: open the chooser, tick Age and Due, untick Comment, apply.
    page.locator(".column-chooser summary").focus()
    page.keyboard.press("Enter")
    page.get_by_role("checkbox", name="Age", exact=True).focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # SLA
    page.keyboard.press("Tab")  # Due
    page.keyboard.press("Space")
    page.get_by_role("checkbox", name="Comment", exact=True).focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Show these columns").focus()
    page.keyboard.press("Enter")

    expect()(page).to_have_url(re.compile(r"columns=age.*columns=due"))
    expect()(header(page, "Age")).to_be_visible()
    expect()(header(page, "Due")).to_be_visible()
    expect()(header(page, "Comment")).to_be_hidden()
    expect()(page.locator(".case-row td.col-comment").first).to_be_hidden()
    expect()(page.locator(".case-row td.col-age").first).to_have_text(re.compile(r"^\s*\d+ min\s*$"))
    # The chooser stays open with focus back on its button (the swap keeps the element's id).
    expect()(page.locator(".column-chooser")).to_have_attribute("open", "")
    assert page.evaluate("document.activeElement.id") == "columns-apply"

    problems = summarise("inbox with the column chooser open", run_axe(page)) + page.evaluate(ID_REFERENCES)
    assert problems == []

    # A filter change keeps the columns (the filter form carries them).
    page.locator("#filter-q").fill("broken")
    page.keyboard.press("Enter")
    expect()(page).to_have_url(re.compile(r"q=broken"))
    expect()(header(page, "Age")).to_be_visible()
    page.locator(".more-filters summary").click()
    # The fields load into the panel; the address bar keeps the inbox's address (the fragment's own
    # address, /cases/filters/, inherited the form's hx-push-url and replaced it once).
    expect()(page.locator(".more-filters .filter-grid[aria-busy]")).to_have_count(0)
    expect()(page).to_have_url(re.compile(r"/cases/\?.*q=broken"))
    page.locator("#clear-filters").click()
    expect()(page).to_have_url(re.compile(r"view=team&columns=case&"))
    expect()(header(page, "Due")).to_be_visible()

    page.locator(".save-views summary").click()
    page.get_by_label("Name this view").fill("Ageing")
    page.get_by_role("button", name="Save this view").click()
    expect()(page.locator(".saved-view-list a[aria-current=true]")).to_have_text(re.compile(r"Ageing 2"))
    assert SavedView.objects.get(owner=personas.alice).params == {
        "columns": ["case", "score", "customer", "owner", "age", "sla", "due"], "view": ["team"]}

    # Elsewhere with the usual columns, then the saved view restores its own.
    page.goto(f"{live_server.url}/cases/?view=mine")
    expect()(header(page, "Age")).to_have_count(0)
    page.locator(".saved-view-list a", has_text="Ageing").click()
    expect()(page.locator(".saved-view-list a[aria-current=true]")).to_have_text(re.compile(r"Ageing"))
    expect()(header(page, "Age")).to_be_visible()
    expect()(header(page, "Comment")).to_be_hidden()

    # Back and forward go through the choices.
    page.go_back()
    expect()(page).to_have_url(re.compile(r"/cases/\?view=mine$"))
    expect()(header(page, "Age")).to_have_count(0)
    page.go_forward()
    expect()(header(page, "Age")).to_be_visible()

    # A phone: the card keeps its compact form (the comment is there, the extra columns are not)
    # and the chooser, which changes nothing there, is not offered.
    page.goto(f"{live_server.url}/cases/?view=team&columns=case&columns=age&columns=due")
    page.set_viewport_size({"width": 375, "height": 812})
    expect()(page.locator(".case-row td.col-comment").first).to_be_visible()
    expect()(page.locator(".case-row td.col-age").first).to_be_hidden()
    expect()(page.locator(".column-chooser")).to_be_hidden()
    assert no_horizontal_scroll(page)


def test_the_chooser_works_without_javascript(browser, live_server, personas):
    make_case(personas.north, comment="cold food")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, live_server, "alice")
        page.goto(f"{live_server.url}/cases/?view=team&sort=newest")
        page.locator(".column-chooser summary").click()
        page.get_by_role("checkbox", name="Value at risk", exact=True).check()
        page.get_by_role("checkbox", name="Score", exact=True).uncheck()
        page.get_by_role("button", name="Show these columns").click()
        expect()(page).to_have_url(re.compile(r"view=team&sort=newest&panel=columns&columns=case&columns=comment"))
        expect()(header(page, "Value at risk")).to_be_visible()
        expect()(header(page, "Score")).to_be_hidden()
    finally:
        context.close()
