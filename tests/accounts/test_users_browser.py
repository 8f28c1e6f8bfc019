"""The invitation as people live it, in headless Chromium: a CX admin invites from the users
page, the invitee opens the e-mail's link, chooses a password and lands signed in after
signing in; the users page then shows them Active."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.factories import PASSWORD, make_personas

NEW_PASSWORD = "copper meadow forty owls"


@pytest.mark.browser
def test_an_admin_invites_and_the_invitee_signs_in(transactional_db, live_server, page):
    personas = make_personas()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "adam")
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/reports/overdue/")
    page.goto(f"{live_server.url}/settings/users/")
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("E-mail address").fill("lea@example.com")
    page.get_by_label("First name").fill("Lea")
    page.get_by_label("Role").select_option("agent")
    page.get_by_label("South").check()
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_url(re.compile(r".*/settings/users/#user-\d+$"))
    assert "Invited Lea: an e-mail with a link to choose a password went to lea@example.com." in page.content()
    assert page.locator("tr", has_text="lea@example.com").locator(".badge").inner_text() == "Invited"

    link = re.search(r"https?://\S+/invitation/\S+", mail.outbox[0].body).group(0)
    page.context.clear_cookies()
    page.goto(live_server.url + re.sub(r"^https?://[^/]+", "", link))
    assert page.locator("h1").inner_text() == "Welcome to Closeloop"
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    page.wait_for_url(f"{live_server.url}/invitation/done/")
    page.get_by_role("link", name="Sign in").last.click()
    page.fill("input[name=username]", "lea@example.com")
    page.fill("input[name=password]", NEW_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/cases/**")
    assert "Lea" in page.locator(".who-name").inner_text()
    assert personas.south.memberships.filter(user__username="lea@example.com").exists()
