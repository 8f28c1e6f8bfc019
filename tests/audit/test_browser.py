"""The audit trail in a real browser (headless Chromium): an admin signs in, changes an SLA
policy on its settings page, follows "Audit trail" in the settings navigation, filters to SLA
policy updates and reads who changed what; the page has no serious or critical axe-core violation."""

from __future__ import annotations

import pytest
from axe_playwright_python.base import AXE_SCRIPT

from accounts.models import SlaPolicy
from tests.factories import PASSWORD
from tests.test_accessibility import run_axe, summarise

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_finds_their_change_in_the_audit_trail(browser, live_server, personas):
    from playwright.sync_api import expect

    policy = SlaPolicy.objects.create(name="Gold", first_contact_hours=4, resolution_hours=24)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(AXE_SCRIPT)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("adam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)

    page.goto(f"{live_server.url}/settings/sla/{policy.pk}/")
    page.get_by_label("Resolved within (business hours)").fill("30")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/settings/sla/")

    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Audit trail").click()
    page.wait_for_url(f"{live_server.url}/settings/audit/")
    page.get_by_label("Object type").select_option("accounts.slapolicy")
    page.get_by_label("Action", exact=True).select_option("update")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(lambda url: "action=update" in url)

    expect(page.get_by_text("1 entry")).to_be_visible()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("adam")
    expect(row).to_contain_text("Gold")
    expect(row).to_contain_text("resolution_hours: 24.00 → 30")
    expect(row).to_contain_text("page · 127.0.0.1")
    assert summarise("/settings/audit/ as admin", run_axe(page)) == []
    context.close()
