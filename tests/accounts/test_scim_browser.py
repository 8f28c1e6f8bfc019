"""A leaver in the browser: signed in and working in the inbox, deprovisioned by the identity
provider over SCIM (a real HTTP request to the live server), sent to the sign-in page by their
very next click, and refused when they try to sign in again."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import ApiToken
from tests.factories import PASSWORD, api_key_for, make_personas

pytestmark = pytest.mark.browser


def test_a_deprovisioned_person_is_signed_out_on_their_next_click(transactional_db, live_server, page):
    personas = make_personas()
    key = api_key_for(personas.adam, name="Okta provisioning", scope=ApiToken.Scope.SCIM)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/cases/")

    answer = requests.patch(
        f"{live_server.url}/scim/v2/Users/{personas.alice.pk}", timeout=10,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/scim+json"},
        json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
              "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert answer.status_code == 200 and answer.json()["active"] is False

    page.reload()
    assert page.url.startswith(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    assert page.url.startswith(f"{live_server.url}/login/")
