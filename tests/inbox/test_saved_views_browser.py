"""Saved views and sorting in Chromium: a header click sorts in place and the filter form keeps the
sort; "Save this view" after that stores what is shown; the bar, its panel open, passes axe-core."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cases.saved_views.models import SavedView
from tests.inbox.helpers import make_case
from tests.inbox.test_browser import expect, no_horizontal_scroll, sign_in
from tests.test_accessibility import AXE_SCRIPT, ID_REFERENCES, run_axe, summarise

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sort_by_a_header_save_the_view_and_find_it_with_its_count(page, live_server, personas):
    for priority, due in (("urgent", 2), ("low", -1), ("urgent", 9)):
        make_case(personas.north, priority=priority, first_contact_in=timedelta(hours=due))
    page.context.add_init_script(AXE_SCRIPT)
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/cases/?view=team&panel=filters")

    # The SLA header sorts in place (HTMX) and the "Sort by" select follows it, so the next
    # filter change keeps the sort.
    page.locator("th.sortable a", has_text="SLA").click()
    expect()(page).to_have_url(re.compile(r"sort=due(&|$)"))
    page.locator("th.sortable a", has_text="SLA").click()
    expect()(page).to_have_url(re.compile(r"sort=due_desc"))
    expect()(page.locator("#filter-sort")).to_have_value("due_desc")
    page.locator("input[name=priority][value=urgent]").check()
    expect()(page).to_have_url(re.compile(r"priority=urgent.*sort=due_desc|sort=due_desc.*priority=urgent"))

    page.locator(".save-views summary").click()
    page.get_by_label("Name this view").fill("Urgent, latest due first")
    page.get_by_role("button", name="Save this view").click()
    expect()(page.locator(".saved-view-list a[aria-current=true]")).to_have_text(re.compile(r"Urgent, latest due first 2"))
    assert SavedView.objects.get(owner=personas.alice).params == {
        "priority": ["urgent"], "sort": ["due_desc"], "view": ["team"]}

    page.locator(".save-views summary").click()
    problems = summarise("inbox with saved views", run_axe(page)) + page.evaluate(ID_REFERENCES)
    assert problems == []
    page.set_viewport_size({"width": 375, "height": 812})
    assert no_horizontal_scroll(page)
