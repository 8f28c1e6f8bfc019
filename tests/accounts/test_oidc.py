"""OpenID Connect single sign-on against a real provider: django-oauth-toolkit with OIDC on
(tests/oidc_provider), started once for this module as a subprocess on a loopback port, with an RSA
key made here. Closeloop's views, backend and mapping run for real; so do the provider's login
page, PKCE check, ID token signing and userinfo endpoint."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import Membership, Role, SsoIdentity, User
from accounts.services.users import user_update
from tests.factories import make_personas, make_team, make_user
from tests.oidc_provider import harness

pytestmark = pytest.mark.slow

CALLBACK = "http://testserver/oidc/callback/"


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    started = harness.start(tmp_path_factory.mktemp("oidc-provider"))
    started.register_client(CALLBACK)
    yield started
    started.stop()


@pytest.fixture
def sso(provider, settings, db):
    """Single sign-on on, trusting the test provider; teams north and south exist (personas)."""
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    return make_personas()


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get(SESSION_KEY)


def page_message(response) -> str:
    match = re.search(r'id="sso-error">(.*?)</p>', response.content.decode(), re.S)
    return " ".join(match.group(1).split()) if match else ""


# --- on and off ---------------------------------------------------------------------------------

def test_the_sign_in_page_offers_single_sign_on_only_when_it_is_configured(client, db, settings):
    assert b"Sign in with" not in client.get("/login/").content
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    settings.OIDC_RP_CLIENT_ID = "closeloop"
    settings.OIDC_PROVIDER_NAME = "Keycloak"
    html = client.get("/login/?next=/cases/").content.decode()
    assert "Sign in with Keycloak" in html
    assert 'href="/oidc/authenticate/?next=/cases/"' in html


def test_the_redirect_to_the_provider_carries_state_nonce_and_a_pkce_challenge(sso, client, provider):
    location = harness.start_sign_in(client)
    assert location.startswith(f"{provider.issuer}/authorize/?")
    for parameter in ("state=", "nonce=", "code_challenge=", "code_challenge_method=S256", "client_id=closeloop-tests",
                      "scope=openid+email+profile+groups"):
        assert parameter in location
    assert len(client.session["oidc_states"]) == 1


def test_the_issuer_alone_is_enough_the_endpoints_come_from_discovery(sso, client, provider, settings):
    for name in ("OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT",
                 "OIDC_OP_JWKS_ENDPOINT"):
        setattr(settings, name, "")
    provider.seed_user("uma", email="uma@example.com", groups=["team-south"])
    location = harness.start_sign_in(client)
    assert location.startswith(f"{provider.issuer}/authorize/?")
    leg = harness.authorize(provider, location, "uma")
    assert client.get(leg.callback).status_code == 302
    assert signed_in_user_id(client) == str(User.objects.get(username="uma").pk)


def test_a_discovery_document_that_cannot_be_had_is_a_502_page(sso, client, settings):
    settings.OIDC_OP_ISSUER = "http://127.0.0.1:9/realms/none"  # the discard port: nothing listens
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = ""
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 502
    assert "could not be reached" in page_message(response)


# --- who signs in, with which role and teams -----------------------------------------------------

def test_a_first_sign_in_creates_the_user_with_the_mapped_role_and_team(sso, client, provider):
    sub = provider.seed_user("ines", email="ines@example.com", groups=["cx-managers", "team-north"],
                             first_name="Ines", last_name="Duarte")
    response = harness.sign_in(client, provider, "ines")
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(email="ines@example.com")
    assert (user.username, user.role, user.first_name, user.last_name) == ("ines", Role.MANAGER, "Ines", "Duarte")
    assert not user.has_usable_password()
    assert list(Membership.objects.filter(user=user).values_list("team__slug", "is_manager")) == [("north", True)]
    assert SsoIdentity.objects.filter(user=user, issuer=provider.issuer, subject=sub).exists()
    assert signed_in_user_id(client) == str(user.pk)


def test_a_change_of_groups_at_the_provider_takes_effect_at_the_next_sign_in(sso, provider):
    provider.seed_user("jonas", email="jonas@example.com", groups=["team-north"])
    harness.sign_in(Client(), provider, "jonas")
    jonas = User.objects.get(username="jonas")
    east = make_team("East")  # not named by OIDC_TEAM_MAP: a CX admin's membership, left alone
    Membership.objects.create(user=jonas, team=east)
    assert jonas.role == Role.AGENT
    provider.seed_user("jonas", email="jonas@example.com", groups=["team-south", "cx-admins"])
    assert harness.sign_in(Client(), provider, "jonas").status_code == 302
    jonas.refresh_from_db()
    assert jonas.role == Role.ADMIN
    assert sorted(Membership.objects.filter(user=jonas).values_list("team__slug", flat=True)) == ["east", "south"]


def test_an_existing_user_is_linked_by_an_address_the_provider_verified(sso, client, provider):
    alice = sso.alice
    sub = provider.seed_user("alice.idp", email="ALICE@example.com", groups=["team-north"])
    assert harness.sign_in(client, provider, "alice.idp").status_code == 302
    assert signed_in_user_id(client) == str(alice.pk)
    assert SsoIdentity.objects.get(subject=sub).user_id == alice.pk
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1
    alice.refresh_from_db()
    assert alice.has_usable_password()  # her password still works beside single sign-on


def test_the_page_asked_for_before_signing_in_is_where_the_sign_in_ends(sso, client, provider):
    provider.seed_user("alice.idp", email="alice@example.com", groups=["team-north"])
    leg = harness.authorize(provider, harness.start_sign_in(client, next_url="/cases/?q=late"), "alice.idp")
    assert client.get(leg.callback)["Location"] == "/cases/?q=late"
    elsewhere = Client()
    leg = harness.authorize(provider, harness.start_sign_in(elsewhere, next_url="https://evil.example/"), "alice.idp")
    assert elsewhere.get(leg.callback)["Location"] == "/"  # not an open redirect


def test_a_taken_user_name_falls_back_to_the_address(sso, client, provider):
    make_user("tom", email="tom@example.com")
    provider.seed_user("tom", email="tom.lind@example.com")
    assert harness.sign_in(client, provider, "tom").status_code == 302
    assert User.objects.get(email="tom.lind@example.com").username == "tom.lind@example.com"
    assert User.objects.get(username="tom").email == "tom@example.com"


def test_an_address_the_provider_did_not_verify_links_no_account(sso, client, provider):
    provider.seed_user("bob.idp", email="bob@example.com", email_verified=False)
    response = harness.sign_in(client, provider, "bob.idp")
    assert response.status_code == 403
    assert "has not verified the address bob@example.com" in page_message(response)
    assert not SsoIdentity.objects.exists()
    assert signed_in_user_id(client) is None


def test_a_deactivated_user_is_refused(sso, client, provider):
    user_update(by=sso.adam, user_id=sso.charlie.pk, is_active=False)
    provider.seed_user("charlie.idp", email="charlie@example.com", groups=["team-south"])
    response = harness.sign_in(client, provider, "charlie.idp")
    assert response.status_code == 403
    assert page_message(response) == "Your Closeloop account is deactivated: ask a CX admin to reactivate it."
    assert signed_in_user_id(client) is None


def test_someone_in_no_mapped_group_is_refused_when_there_is_no_default_role(sso, client, provider, settings):
    settings.OIDC_DEFAULT_ROLE = ""
    provider.seed_user("kim", email="kim@example.com", groups=["team-north"])
    response = harness.sign_in(client, provider, "kim")
    assert response.status_code == 403
    assert "in none of the groups that give access" in page_message(response)
    assert not User.objects.filter(email="kim@example.com").exists()


def test_a_deactivated_sso_user_is_signed_out_at_once(sso, client, provider):
    provider.seed_user("lena", email="lena@example.com", groups=["team-north"])
    harness.sign_in(client, provider, "lena")
    assert client.get("/cases/").status_code == 200
    lena = User.objects.get(username="lena")
    user_update(by=sso.adam, user_id=lena.pk, is_active=False)
    assert client.get("/cases/").status_code == 302
    assert not [s for s in Session.objects.all() if s.get_decoded().get(SESSION_KEY) == str(lena.pk)]


# --- the protocol's checks: every failure a 4xx page, none a 500 ----------------------------------

def test_a_callback_with_a_state_this_browser_did_not_start_is_refused(sso, client, provider):
    provider.seed_user("mona", email="mona@example.com")
    leg = harness.authorize(provider, harness.start_sign_in(client), "mona")
    response = client.get(f"/oidc/callback/?code={leg.code}&state=forged-state")
    assert response.status_code == 400
    assert "unknown state" in page_message(response)
    assert signed_in_user_id(client) is None
    # A browser that never started a sign-in (no state in its session at all):
    response = Client().get(leg.callback)
    assert response.status_code == 400


def test_a_code_is_refused_in_another_browser_pkce(sso, provider):
    """An attacker's code injected into a victim's sign-in: the victim's session holds another PKCE
    verifier, so the provider refuses the exchange."""
    provider.seed_user("nils", email="nils@example.com")
    attacker, victim = Client(), Client()
    stolen = harness.authorize(provider, harness.start_sign_in(attacker), "nils")
    victim_state = parse_state(harness.start_sign_in(victim))
    response = victim.get(f"/oidc/callback/?code={stolen.code}&state={victim_state}")
    assert response.status_code == 400
    assert "did not accept this sign-in code" in page_message(response)
    assert signed_in_user_id(victim) is None


def test_an_id_token_with_another_nonce_is_refused(sso, client, provider):
    provider.seed_user("olav", email="olav@example.com")
    leg = harness.authorize(provider, harness.start_sign_in(client), "olav")
    session = client.session
    session["oidc_states"][leg.state]["nonce"] = "not-the-nonce-sent"
    session.save()
    response = client.get(leg.callback)
    assert response.status_code == 400
    assert "Nonce" in page_message(response)
    assert not User.objects.filter(username="olav").exists()


def test_an_id_token_from_another_issuer_is_refused(sso, client, provider, settings):
    """mozilla-django-oidc does not compare the issuer; accounts.sso.backend does."""
    leg = harness.authorize(provider, harness.start_sign_in(client), _seeded(provider, "sven"))
    settings.OIDC_OP_ISSUER = "https://sso.example.com/realms/cx"
    response = client.get(leg.callback)
    assert response.status_code == 400
    assert f"issued by '{provider.issuer}'" in page_message(response).replace("&#x27;", "'")
    assert not User.objects.filter(username="sven").exists()


def test_a_code_is_used_once(sso, provider):
    provider.seed_user("pia", email="pia@example.com")
    first = Client()
    leg = harness.authorize(provider, harness.start_sign_in(first), "pia")
    assert first.get(leg.callback).status_code == 302
    assert first.get(leg.callback).status_code == 400  # the state was used up with the first answer


def test_an_error_from_the_provider_is_a_403_page(sso, client, provider):
    state = parse_state(harness.start_sign_in(client))
    response = client.get(f"/oidc/callback/?error=access_denied&state={state}")
    assert response.status_code == 403
    assert "did not sign you in (access_denied)" in page_message(response)
    assert state not in client.session["oidc_states"]


def test_a_callback_without_a_code_is_a_400_page(sso, client):
    response = client.get("/oidc/callback/")
    assert response.status_code == 400
    assert "opened without a sign-in" in page_message(response)


def test_an_unreachable_provider_is_a_502_page_not_a_500(sso, client, provider, settings):
    leg = harness.authorize(provider, harness.start_sign_in(client), _seeded(provider, "quinn"))
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/token/"  # the discard port: nothing listens
    response = client.get(leg.callback)
    assert response.status_code == 502
    assert "could not be reached" in page_message(response)


def _seeded(provider, username: str) -> str:
    provider.seed_user(username, email=f"{username}@example.com")
    return username


def parse_state(authorize_url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(authorize_url).query)["state"][0]


# --- in the browser --------------------------------------------------------------------------------

@pytest.mark.browser
def test_signing_in_through_the_providers_page_lands_in_the_inbox_with_the_mapped_role_and_team(
        provider, live_server, page, settings, transactional_db):
    # Only mapped groups give access here: Rosa is an agent because the provider puts her in cx-agents.
    overrides = provider.settings(OIDC_DEFAULT_ROLE="",
                                  OIDC_ROLE_MAP={"cx-agents": ["agent"], "cx-managers": ["manager"]})
    for name, value in overrides.items():
        setattr(settings, name, value)
    provider.register_client(CALLBACK, f"{live_server.url}/oidc/callback/")
    make_personas()
    provider.seed_user("rosa", email="rosa@example.com", groups=["cx-agents", "team-south"],
                       first_name="Rosa", last_name="Lind")

    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_url(f"{provider.url}/accounts/login/**")
    page.fill("#idp-username", "rosa")
    page.fill("#idp-password", harness.PASSWORD)
    page.click("#idp-sign-in")
    page.wait_for_url(f"{live_server.url}/cases/**")

    assert page.locator("h1").first.inner_text().strip() == "Inbox"
    assert " ".join(page.locator(".who-name").inner_text().split()) == "Rosa Lind (Frontline agent)"
    rosa = User.objects.get(username="rosa")
    assert rosa.role == Role.AGENT
    assert list(rosa.teams.values_list("slug", flat=True)) == ["south"]
