"""Two-factor sign-in as people live it, in headless Chromium: an agent sets up an authenticator
app from the set-up page (the "app" here is django-otp's TOTP fed the key the page shows), keeps
the backup codes, signs out, and signs in again with the password and then a code. The set-up
and code pages pass axe-core."""

from __future__ import annotations

import re
import time

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.totp_helpers import code_from_manual_key
from tests.factories import PASSWORD, make_personas
from tests.test_accessibility import run_axe, summarise


def _unused_code(key: str, user) -> str:
    """The code the app shows now, or the next step's when this step's code was the one that
    confirmed the set-up a moment ago (codes are single-use)."""
    last_t = TOTPDevice.objects.get(user=user).last_t
    now_step = int(time.time()) // 30
    return code_from_manual_key(key, later=30 * max(0, last_t + 1 - now_step))


@pytest.mark.browser
def test_an_agent_sets_up_an_authenticator_and_signs_in_with_a_code(transactional_db, live_server, page):
    personas = make_personas()
    # The set-up and code pages are checked with axe-core here: the accessibility walk
    # (tests/test_accessibility.py) reaches the code step only without a sign-in in progress.
    page.add_init_script(AXE_SCRIPT)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/cases/**")

    page.goto(f"{live_server.url}/account/two-factor/")
    page.get_by_role("link", name="Set up an authenticator app").click()
    page.wait_for_url(f"{live_server.url}/account/two-factor/set-up/")
    assert page.get_by_role("img", name="QR code to scan with your authenticator app").is_visible()
    assert summarise("set-up", run_axe(page)) == []
    key = page.locator("#manual-key").inner_text()
    page.get_by_label("Code").fill(code_from_manual_key(key))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    page.wait_for_selector("#backup-codes")
    codes = page.locator(".backup-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{8}", c) for c in codes)
    page.get_by_role("link", name="I have kept them: continue").click()
    page.wait_for_url(f"{live_server.url}/account/two-factor/")
    assert "You sign in with an authenticator app" in page.locator("#two-factor-status").inner_text()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/login/code/")
    assert page.locator("h1").inner_text() == "Enter your code"
    assert summarise("code step", run_axe(page)) == []
    page.get_by_label("Code").fill(_unused_code(key, personas.alice))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/cases/**")
    assert page.locator(".who-name").inner_text().startswith("alice")
