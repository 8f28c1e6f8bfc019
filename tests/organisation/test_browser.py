"""Issue #18's "Done when", in a real browser (headless Chromium via Playwright) against a running
server (pytest-django's live server, the same Django app `make run` serves): sign in as `admin`,
create a team with business hours and a holiday, an SLA policy and a routing rule from the settings
pages, send a delivery to a new webhook source, and find the case in the new team's inbox with due
times inside that team's business hours.

The webhook source is created on the set-up page of issue #17 (Connect a survey tool)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
import requests

from accounts.models import ClosedDay, Role, SlaPolicy, Team
from cases.calendar import is_open
from cases.models import Case, RoutingRule
from cases.sla import due_times
from surveys.models import WebhookSource
from tests.factories import PASSWORD, AlertRuleFactory, UserFactory
from tests.surveys.payloads import closeloop_body, standard_headers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _http_headers(meta: dict) -> dict:
    """Django test-client META keys (HTTP_WEBHOOK_ID) as the header names a sender uses."""
    return {key.removeprefix("HTTP_").replace("_", "-").lower(): value for key, value in meta.items()}


def test_an_admin_sets_up_a_team_and_its_case_arrives_with_due_times_in_its_hours(page, live_server, personas):
    from playwright.sync_api import expect

    UserFactory(username="admin", role=Role.ADMIN, first_name="Ada", last_name="Admin")
    AlertRuleFactory(name="Detractors open a case")  # NPS 6 or less opens a case (the demo has one too)
    errors: list[str] = []
    # Chromium logs a refused form's 422 (the negative SLA below, on purpose) and the favicon's 404.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "(Unprocessable Entity)" not in m.text
            and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 500 else None)

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # admins land on the dashboard
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Teams", exact=True).first.click()
    page.get_by_role("link", name="New team").click()

    # A team in New York: a split shift Monday to Friday, an overnight shift Saturday night.
    page.locator("#id_name").fill("Night desk")
    page.locator("#id_timezone").fill("America/New_York")
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.locator(f"#id_{day}-0-start").fill("09:00")
        page.locator(f"#id_{day}-0-end").fill("12:00")
        page.locator(f"#id_{day}-1-start").fill("13:00")
        page.locator(f"#id_{day}-1-end").fill("17:00")
    page.locator("#id_sat-0-start").fill("22:00")
    page.locator("#id_sat-0-end").fill("06:00")
    page.locator("#id_sat-0-overnight").check()
    page.locator("#id_holiday_country").fill("US")
    page.locator("#id_holiday_subdivision").fill("NY")
    page.get_by_role("button", name="Save team").click()
    expect(page.locator(".messages")).to_contain_text("Saved “Night desk”.")
    expect(page.locator("#id_sat-0-overnight")).to_be_checked()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#business-hours").screenshot(path=str(SCREENSHOTS / "settings-business-hours.png"))

    # A holiday of its own, and the admin as a member (so the team's inbox is theirs to see).
    holiday = dt.date.today() + dt.timedelta(days=1)
    page.locator("#id_date").fill(holiday.isoformat())
    page.locator("#id_name").last.fill("Stock-take")
    page.get_by_role("button", name="Add closed day").click()
    expect(page.locator("#closed-days")).to_contain_text("Stock-take")
    page.locator("#id_user").select_option(label="admin")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#members")).to_contain_text("Ada Admin")

    # An SLA policy; a negative target is refused first, in words.
    page.goto(f"{live_server.url}/settings/sla/new/")
    page.locator("#id_name").fill("Night SLA")
    page.locator("#id_first_contact_hours").fill("-2")
    page.locator("#id_resolution_hours").fill("6")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#field-first_contact_hours")).to_contain_text(
        "Give a positive number of business hours, e.g. 4 (-2 is not a target).")
    page.locator("#id_first_contact_hours").fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved “Night SLA”.")

    # A routing rule sending the "night" touchpoint to the new team, then the tester agrees.
    page.get_by_role("link", name="Routing", exact=True).click()
    page.get_by_role("link", name="New routing rule").click()
    page.locator("#id_name").fill("Night orders")
    page.locator("#id_order").fill("1")
    page.locator("#id_team").select_option(label="Night desk")
    page.locator("#id_touchpoints").fill("night")
    page.locator("#id_sla_policy").select_option(label="Night SLA")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved “Night orders”.")
    page.locator("#id_touchpoint").fill("night")
    page.get_by_role("button", name="Test routing").click()
    expect(page.locator("#route-answer")).to_contain_text("→ Night desk. Rule #1 “Night orders” matches first.")

    # The webhook source, from the set-up page (Connect › Standard Webhooks), then one delivery.
    page.goto(f"{live_server.url}/surveys/setup/new/standard/")
    page.locator("#source-form #id_name").fill("Night survey")
    page.locator("#source-form #id_slug").fill("night-survey")
    page.get_by_role("button", name="Create the source").click()
    expect(page.locator(".messages")).to_contain_text("Night survey is ready")
    source = WebhookSource.objects.get(slug="night-survey")
    body = closeloop_body(response_id="night-1", nps=2, comment="Nobody answered at night", touchpoint="night")
    sent = requests.post(f"{live_server.url}/webhooks/night-survey/", data=body, timeout=30,
                         headers={"Content-Type": "application/json", **_http_headers(standard_headers(source.secret, body))})
    assert sent.status_code in (200, 202), sent.text

    team = Team.objects.get(name="Night desk")
    case = Case.objects.get(response__external_id="night-1")
    assert case.team == team and case.sla_policy == SlaPolicy.objects.get(name="Night SLA")
    assert RoutingRule.objects.get(name="Night orders").team == team
    assert ClosedDay.objects.get(team=team).date == holiday
    # Due times are the team's clocks: computed in its calendar, and each falls inside its open hours.
    assert (case.first_contact_due, case.resolution_due) == due_times(Team.objects.get(pk=team.pk), case.created_at,
                                                                       case.sla_policy)
    for due in (case.first_contact_due, case.resolution_due):
        assert is_open(Team.objects.get(pk=team.pk), due - dt.timedelta(seconds=1))
        local = due.astimezone(zoneinfo.ZoneInfo("America/New_York"))
        assert local.date() != holiday

    page.goto(f"{live_server.url}/cases/?view=team&team={team.pk}")  # "Team all", the new team only
    row = page.locator("tr", has_text=case.reference)
    expect(row).to_be_visible()
    row.get_by_role("link", name=case.reference).click()
    expect(page.locator(f'time[datetime="{case.first_contact_due.astimezone(dt.UTC).isoformat()}"]')).to_have_count(1)
    assert not errors, errors
