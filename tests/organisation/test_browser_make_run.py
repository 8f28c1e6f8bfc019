"""Issue #18's "Done when" on a fresh `make run` (the embedded stack with the default demo data,
tests/demo_stack.py): the admin's steps of tests/organisation/done_when.py in headless Chromium,
then the case is found in the new team's inbox, with due times inside that team's business hours.
The stack keeps its own database, so what was stored is read through the API (as the admin)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests

from tests.demo_stack import DEMO_PASSWORD
from tests.organisation.done_when import ignore_expected_errors, open_in_hours, set_up_a_team_and_send_a_delivery

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_on_a_fresh_make_run_an_admin_sets_up_a_team_and_its_case_arrives_in_its_hours(page, demo_stack):
    from playwright.sync_api import expect

    api = requests.Session()
    api.headers["Authorization"] = f"Token {demo_stack.token}"
    errors: list[str] = []
    ignore_expected_errors(page, errors)

    # Names of its own: the docs' examples (tests/test_docs_examples.py) add a "Night desk" to the same demo.
    done = set_up_a_team_and_send_a_delivery(page, demo_stack.base, password=DEMO_PASSWORD, team="Night shift",
                                             source="night-shift-survey")

    team = api.get(f"{demo_stack.base}/api/v1/teams/night-shift/", timeout=30).json()
    assert team["timezone"] == "America/New_York" and (team["holiday_country"], team["holiday_subdivision"]) == ("US", "NY")
    # The worker turns the delivery into a case (alert rule "detractors", routing rule "Night orders").
    deadline = time.monotonic() + 60
    while True:
        cases = api.get(f"{demo_stack.base}/api/v1/cases/", params={"team": team["id"]}, timeout=30).json()
        if cases["count"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert cases["count"] == 1, (cases, demo_stack.log(30))
    case = cases["results"][0]
    assert (case["team"]["slug"], case["sla_policy"], case["response"]["comment"]) == (
        "night-shift", "Night SLA", "Nobody answered at night")
    # Each due time falls inside the team's open hours (New York, its holiday and New York's off).
    first, resolution = _when(case["first_contact_due"]), _when(case["resolution_due"])
    created = _when(case["created_at"])
    assert created < first < resolution
    for due in (first, resolution):
        assert open_in_hours(due - dt.timedelta(seconds=1), closed={done.holiday}), (due, case)

    page.goto(f"{demo_stack.base}/cases/?view=team&team={team['id']}")  # "Team all", the new team only
    row = page.locator("tr", has_text=case["reference"])
    expect(row).to_be_visible()
    row.get_by_role("link", name=case["reference"]).click()
    expect(page.locator(f'time[datetime="{first.astimezone(dt.UTC).isoformat()}"]')).to_have_count(1)
    assert not errors, errors
