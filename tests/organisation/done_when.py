"""Issue #18's "Done when" as a person does it in the browser, shared by the test against pytest's
live server (tests/organisation/test_browser.py, which also checks the database) and the one
against a fresh `make run` (tests/organisation/test_browser_make_run.py, which checks through the
API and the pages, as the database is the stack's own): sign in as `admin`, create a team with
business hours and a holiday, an SLA policy, a routing rule and a webhook source from the settings
pages, then send the new source a delivery."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.surveys.payloads import closeloop_body, standard_headers

TIME_ZONE = "America/New_York"
# Monday to Friday 09:00-12:00 and 13:00-17:00; Saturday 22:00 to Sunday 06:00 (overnight).
HOURS = {day: [("09:00", "12:00"), ("13:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
HOURS["sat"] = [("22:00", "24:00")]
HOURS["sun"] = [("00:00", "06:00")]


@dataclass
class SetUp:
    team: str  # the new team's name
    slug: str  # the new source's slug
    holiday: dt.date  # the team's own closed day
    secret: str  # the new source's secret, as its page shows it
    response_id: str  # of the delivery sent to the new source


def ignore_expected_errors(page, errors: list[str]) -> None:
    """Collect browser errors, except a refused form's 422 (the negative SLA, on purpose) and the favicon's 404."""
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "(Unprocessable Entity)" not in m.text
            and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)


def set_up_a_team_and_send_a_delivery(page, base: str, *, password: str, team: str = "Night desk",
                                      source: str = "night-survey", screenshots: Path | None = None) -> SetUp:
    from playwright.sync_api import expect

    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # admins land on the dashboard
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Teams", exact=True).first.click()
    page.get_by_role("link", name="New team").click()

    # A team in New York: a split shift Monday to Friday, an overnight shift Saturday night.
    page.locator("#id_name").fill(team)
    page.locator("#id_timezone").fill(TIME_ZONE)
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
    expect(page.locator(".messages")).to_contain_text(f"Saved “{team}”.")
    expect(page.locator("#id_sat-0-overnight")).to_be_checked()
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
        page.locator("#business-hours").screenshot(path=str(screenshots / "settings-business-hours.png"))

    # A holiday of its own, and the admin as a member (so the team's inbox is theirs to see).
    holiday = dt.date.today() + dt.timedelta(days=1)
    page.locator("#id_closed_date").fill(holiday.isoformat())
    page.locator("#id_closed_name").fill("Stock-take")
    page.get_by_role("button", name="Add closed day").click()
    expect(page.locator("#closed-days")).to_contain_text("Stock-take")
    page.locator("#id_user").select_option(label="admin")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#members")).to_contain_text("Ada Admin")

    # An SLA policy; a negative target is refused first, in words.
    page.goto(f"{base}/settings/sla/new/")
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
    page.locator("#id_team").select_option(label=team)
    page.locator("#id_touchpoints").fill("night")
    page.locator("#id_sla_policy").select_option(label="Night SLA")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved “Night orders”.")
    page.locator("#id_touchpoint").fill("night")
    page.get_by_role("button", name="Test routing").click()
    expect(page.locator("#route-answer")).to_contain_text(f"→ {team}. Rule #1 “Night orders” matches first.")

    # The webhook source, from the set-up page (Connect › Standard Webhooks), then one delivery
    # signed with the secret the source's page shows.
    page.goto(f"{base}/surveys/setup/new/standard/")
    page.locator("#source-form #id_name").fill("Night survey")
    page.locator("#source-form #id_slug").fill(source)
    page.get_by_role("button", name="Create the source").click()
    expect(page.locator(".messages")).to_contain_text("Night survey is ready")
    secret = page.locator("#webhook-secret").inner_text().strip()
    response_id = f"{source}-1"
    # A customer of its own, so the demo's repeat protection has no earlier case to add it to.
    body = closeloop_body(response_id=response_id, nps=2, comment="Nobody answered at night", touchpoint="night",
                          external_id=f"C-{source}", email=f"{source}@example.com")
    sent = requests.post(f"{base}/webhooks/{source}/", data=body, timeout=30,
                         headers={"Content-Type": "application/json", **_http_headers(standard_headers(secret, body))})
    assert sent.status_code in (200, 202), sent.text
    return SetUp(team=team, slug=source, holiday=holiday, secret=secret, response_id=response_id)


def open_in_hours(instant: dt.datetime, *, closed: set[dt.date]) -> bool:
    """Whether the team of HOURS (in TIME_ZONE, closed on `closed` and New York's public holidays)
    is open at `instant`: worked out here from what the team was given, not by the product's clocks."""
    import zoneinfo

    import holidays

    local = instant.astimezone(zoneinfo.ZoneInfo(TIME_ZONE))
    if local.date() in closed or local.date() in holidays.country_holidays("US", subdiv="NY", years=local.year):
        return False
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    now = local.strftime("%H:%M")
    return any(start <= now < end for start, end in HOURS.get(day, []))


def _http_headers(meta: dict) -> dict:
    """Django test-client META keys (HTTP_WEBHOOK_ID) as the header names a sender uses."""
    return {key.removeprefix("HTTP_").replace("_", "-").lower(): value for key, value in meta.items()}
