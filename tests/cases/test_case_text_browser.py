"""The close form's suggestions and the playbooks panel in a real browser at phone width
(headless Chromium via Playwright, live server): tap a suggestion, see its playbook, tick a step,
close, and the closure records that the suggestion was taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.models import Case, Playbook
from cases.suggest import train_root_cause_model
from tests.cases.text_helpers import cause, closed_history, make_open_case
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def test_an_agent_takes_a_suggestion_ticks_its_playbook_and_closes_on_a_phone(page, live_server, personas):
    from playwright.sync_api import expect

    closed_history(personas.north, per_cause=12)
    assert train_root_cause_model() is not None
    Playbook.objects.create(name="Late delivery", root_cause=cause("Late"),
                            steps=["Check the tracking", "Refund the delivery fee"],
                            script="I am sorry your parcel was late.")
    case = make_open_case(personas.north, comment="My parcel arrived three days late", assignee=personas.alice)

    page.set_viewport_size(PHONE)
    errors: list[str] = []

    def console(message) -> None:
        # base.html names no favicon, so Chromium's own /favicon.ico request 404s on every page.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", console)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/cases/**")
    page.goto(f"{live_server.url}/cases/{case.reference}/")

    page.get_by_text("Close the case").click()
    suggestion = page.locator("button.suggestion", has_text="Delivery › Late")
    expect(suggestion).to_be_visible()
    expect(suggestion).to_contain_text("%")
    suggestion.click()
    expect(suggestion).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#close-root_cause")).to_have_value(str(cause("Late").pk))

    playbooks = page.locator("#case-playbooks")
    expect(playbooks).to_contain_text("Late delivery")  # shown as soon as the cause is chosen
    playbooks.get_by_role("button", name="Check the tracking").click()
    expect(playbooks.get_by_role("button", name="Check the tracking")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#case-timeline")).to_contain_text("ticked “Check the tracking” (Late delivery)")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#action-close").screenshot(path=str(SCREENSHOTS / "close-form-suggestions-phone.png"))

    expect(page.locator("#close-root_cause")).to_have_value(str(cause("Late").pk))  # the form kept its choice
    page.get_by_label("Resolution: what was done").fill("Refunded the delivery fee.")
    page.locator("#close-outcome").select_option("resolved")
    page.get_by_role("button", name="Close case").click()
    expect(page.locator("#case-header")).to_contain_text("Closed")
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.suggestion_taken is True
    assert not errors, errors
