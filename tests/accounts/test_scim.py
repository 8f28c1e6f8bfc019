"""SCIM 2.0 provisioning at /scim/v2/ (RFC 7643/7644, django-scim2): the RFC's own example
payloads, a leaver losing access at once (sessions and API tokens, through real requests), the
bearer token's scope, and 4xx (never 5xx) for what a client gets wrong."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import ApiToken, Membership, Team, User
from tests.factories import PASSWORD, api_key_for, make_team, make_user

pytestmark = pytest.mark.django_db

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

# RFC 7644 §3.3, "Creating Resources", the example request body.
RFC_CREATE_BJENSEN = {
    "schemas": [USER_SCHEMA],
    "userName": "bjensen",
    "externalId": "bjensen",
    "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
}
# RFC 7644 §3.5.2.3, a replace operation, here on `active` (how Okta and Entra deprovision).
RFC_PATCH_INACTIVE = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]}


class Scim:
    """A provisioning client: Django's test client with a SCIM bearer token (and CSRF checked, as
    for any client that is not a test: the provisioning client sends no CSRF token)."""

    def __init__(self, key: str):
        self.client = Client(enforce_csrf_checks=True)
        self.key = key

    def __call__(self, method: str, path: str, body=None, *, key: str | None = None, raw: bytes | None = None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.key if key is None else key}"}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        call = getattr(self.client, method.lower())
        if data is None:
            return call(f"/scim/v2/{path}", **headers)
        return call(f"/scim/v2/{path}", data=data, content_type=SCIM_JSON, **headers)


@pytest.fixture
def scim(personas):
    return Scim(api_key_for(personas.adam, name="Okta provisioning", scope=ApiToken.Scope.SCIM))


def body(response) -> dict:
    return json.loads(response.content)


# --- the RFC's examples -----------------------------------------------------------------------------

def test_the_rfc_create_example_makes_a_user_who_signs_in_with_sso(scim):
    response = scim("POST", "Users", RFC_CREATE_BJENSEN)
    assert response.status_code == 201
    created = body(response)
    user = User.objects.get(username="bjensen")
    assert created["id"] == str(user.pk)
    assert response["Location"] == f"http://127.0.0.1:8000/scim/v2/Users/{user.pk}"
    assert (created["userName"], created["active"], created["externalId"]) == ("bjensen", True, "bjensen")
    assert (user.first_name, user.last_name, user.scim_external_id, user.role) == ("Barbara", "Jensen", "bjensen", "agent")
    assert user.is_active and not user.has_usable_password()


def test_the_rfc_filter_example_finds_the_user_by_username(scim):
    scim("POST", "Users", RFC_CREATE_BJENSEN)
    response = scim("GET", 'Users?filter=userName eq "bjensen"')
    assert response.status_code == 200
    found = body(response)
    assert found["totalResults"] == 1
    assert [r["userName"] for r in found["Resources"]] == ["bjensen"]
    # userName is case-insensitive (RFC 7643 §4.1.1), and so is the operator (RFC 7644 §3.4.2.2).
    assert body(scim("GET", 'Users?filter=userName Eq "BJensen"'))["totalResults"] == 1
    assert body(scim("GET", 'Users?filter=userName eq "nobody"'))["totalResults"] == 0
    assert body(scim("GET", 'Users?filter=externalId eq "bjensen" and active eq true'))["totalResults"] == 1


def test_the_rfc_patch_replace_active_false_deprovisions(scim, personas):
    alice = personas.alice
    response = scim("PATCH", f"Users/{alice.pk}", RFC_PATCH_INACTIVE)
    assert response.status_code == 200
    assert body(response)["active"] is False
    alice.refresh_from_db()
    assert alice.is_active is False


# --- a leaver loses access at once ------------------------------------------------------------------

def _signed_in(user: User) -> Client:
    browser = Client()
    assert browser.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    assert browser.get("/cases/").status_code == 200
    return browser


def _sessions_of(user: User) -> int:
    return sum(1 for s in Session.objects.all() if s.get_decoded().get(SESSION_KEY) == str(user.pk))


@pytest.mark.parametrize("deprovision", ["patch", "delete"])
def test_a_deprovisioned_user_loses_sessions_and_api_tokens_at_once(scim, personas, deprovision):
    alice = personas.alice
    browser, phone = _signed_in(alice), _signed_in(alice)
    key = api_key_for(alice, name="her script")
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/tokens/").status_code == 200
    assert _sessions_of(alice) == 2

    if deprovision == "patch":
        assert scim("PATCH", f"Users/{alice.pk}", RFC_PATCH_INACTIVE).status_code == 200
    else:
        assert scim("DELETE", f"Users/{alice.pk}").status_code == 204

    assert _sessions_of(alice) == 0
    for session in (browser, phone):
        response = session.get("/cases/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    refused = api.get("/api/v1/tokens/")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "User inactive or deleted."
    assert _signed_in_fails(alice)
    # DELETE deactivates rather than deletes: the person's cases keep their name; SCIM still shows them.
    assert body(scim("GET", f"Users/{alice.pk}"))["active"] is False


def _signed_in_fails(user: User) -> bool:
    browser = Client()
    browser.post("/login/", {"username": user.username, "password": PASSWORD})
    return SESSION_KEY not in browser.session


def test_reactivating_restores_access(scim, personas):
    alice = personas.alice
    scim("PATCH", f"Users/{alice.pk}", RFC_PATCH_INACTIVE)
    # Entra sends booleans as strings.
    entra = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]}
    assert scim("PATCH", f"Users/{alice.pk}", entra).status_code == 200
    assert not _signed_in_fails(User.objects.get(pk=alice.pk))


def test_okta_style_patch_without_a_path_deprovisions(scim, personas):
    okta = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert scim("PATCH", f"Users/{personas.bob.pk}", okta).status_code == 200
    assert User.objects.get(pk=personas.bob.pk).is_active is False


def test_the_users_pages_rules_hold_for_scim_too(scim, personas):
    response = scim("PATCH", f"Users/{personas.adam.pk}", RFC_PATCH_INACTIVE)
    assert response.status_code == 400
    assert body(response)["detail"] == "You cannot deactivate your own account: ask another CX admin."
    assert User.objects.get(pk=personas.adam.pk).is_active


# --- updates ------------------------------------------------------------------------------------------

def test_put_replaces_names_address_and_user_name(scim, personas):
    bob = personas.bob
    response = scim("PUT", f"Users/{bob.pk}", {
        "schemas": [USER_SCHEMA], "userName": "robert", "name": {"givenName": "Robert", "familyName": "Berg"},
        "emails": [{"value": "robert@example.com", "type": "work", "primary": True}], "active": True})
    assert response.status_code == 200
    bob.refresh_from_db()
    assert (bob.username, bob.first_name, bob.last_name, bob.email) == ("robert", "Robert", "Berg", "robert@example.com")


def test_patch_with_entra_paths_changes_what_closeloop_keeps(scim, personas):
    bob = personas.bob
    response = scim("PATCH", f"Users/{bob.pk}", {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "Replace", "path": "name.givenName", "value": "Bobby"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "bobby@example.com"},
        {"op": "Add", "path": "title", "value": "Agent"},  # of the User schema; Closeloop keeps no title
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
         "value": "CX"},
    ]})
    assert response.status_code == 200
    bob.refresh_from_db()
    assert (bob.first_name, bob.email) == ("Bobby", "bobby@example.com")


# --- groups are teams -----------------------------------------------------------------------------------

def test_a_group_is_a_team_and_its_members_are_members(scim, personas):
    response = scim("POST", "Groups", {"schemas": [GROUP_SCHEMA], "displayName": "East",
                                       "members": [{"value": str(personas.alice.pk)}, {"value": str(personas.mia.pk)}]})
    assert response.status_code == 201
    east = Team.objects.get(name="East")
    assert body(response)["id"] == str(east.pk)
    assert sorted(Membership.objects.filter(team=east).values_list("user__username", "is_manager")) == [
        ("alice", False), ("mia", True)]
    # Entra adds and removes members with a path; Okta removes one with a filter in the path.
    scim("PATCH", f"Groups/{east.pk}", {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "Add", "path": "members", "value": [{"value": str(personas.bob.pk)}]},
        {"op": "Remove", "path": "members", "value": [{"value": str(personas.mia.pk)}]}]})
    response = scim("PATCH", f"Groups/{east.pk}", {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "remove", "path": f'members[value eq "{personas.alice.pk}"]'},
        {"op": "replace", "value": {"id": str(east.pk), "displayName": "East coast"}}]})
    assert response.status_code == 200
    assert [m["value"] for m in body(response)["members"]] == [str(personas.bob.pk)]
    east.refresh_from_db()
    assert east.name == "East coast"
    assert list(Membership.objects.filter(team=east).values_list("user__username", flat=True)) == ["bob"]
    assert body(scim("GET", 'Groups?filter=displayName eq "East coast"'))["totalResults"] == 1


def test_deleting_a_group_deletes_an_empty_team_but_never_the_default_team(scim, personas):
    west = make_team("West")
    assert scim("DELETE", f"Groups/{west.pk}").status_code == 204
    assert not Team.objects.filter(pk=west.pk).exists()
    response = scim("DELETE", f"Groups/{personas.north.pk}")
    assert response.status_code == 409
    assert "default team" in body(response)["detail"]
    assert Team.objects.filter(pk=personas.north.pk).exists()


# --- the bearer token ---------------------------------------------------------------------------------

def test_scim_needs_a_scim_token_of_a_cx_admin(scim, personas):
    assert scim("GET", "Users", key="").status_code == 401
    no_header = Client().get("/scim/v2/Users")
    assert no_header.status_code == 401 and no_header["WWW-Authenticate"] == 'Bearer realm="closeloop-scim"'
    api_token = api_key_for(personas.adam)
    refused = scim("GET", "Users", key=api_token)
    assert refused.status_code == 401
    assert "needs a SCIM provisioning token" in body(refused)["detail"]
    assert body(refused)["schemas"] == [ERROR_SCHEMA]
    # An admin's browser session is not enough: SCIM is CSRF-exempt, so a cookie must not authenticate.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas.adam)
    assert browser.get("/scim/v2/Users").status_code == 401
    made = browser.post("/scim/v2/Users", data=json.dumps({"userName": "csrf"}), content_type=SCIM_JSON)
    assert made.status_code == 401
    assert not User.objects.filter(username="csrf").exists()


def test_a_scim_token_does_not_open_the_rest_api(scim):
    response = Client(HTTP_AUTHORIZATION=f"Token {scim.key}").get("/api/v1/tokens/")
    assert response.status_code == 401
    assert "SCIM provisioning (/scim/v2/) only" in response.json()["detail"]


def test_only_cx_admins_make_scim_tokens(personas, api_client):
    from django.core.exceptions import ValidationError

    from accounts.services.tokens import token_create

    with pytest.raises(ValidationError):
        token_create(user=personas.mia, name="nope", scope=ApiToken.Scope.SCIM)
    api_client.force_authenticate(personas.mia)
    response = api_client.post("/api/v1/tokens/", {"name": "nope", "scope": "scim"}, format="json")
    assert response.status_code == 400
    assert ApiToken.objects.filter(user=personas.mia).count() == 0


def test_a_scim_token_stops_when_its_owner_is_no_longer_an_admin(scim, personas):
    User.objects.filter(pk=personas.adam.pk).update(role="manager")
    response = scim("GET", "Users")
    assert response.status_code == 403
    assert "no longer a CX admin" in body(response)["detail"]


def test_the_scim_token_is_stored_hashed(scim):
    token = ApiToken.objects.get(scope=ApiToken.Scope.SCIM)
    assert scim.key not in json.dumps(list(ApiToken.objects.values_list("prefix", "digest", "name")))
    assert token.prefix == scim.key[:11]


# --- what a client gets wrong: 4xx with a SCIM error, never 5xx --------------------------------------

@pytest.mark.parametrize("method, path, payload, raw, status", [
    ("GET", "Users/abc", None, None, 404),
    ("GET", "Users/²", None, None, 404),
    ("GET", "Users/99999999999999999999999999", None, None, 404),
    ("GET", "Users/999999", None, None, 404),
    ("POST", "Users", None, b"{not json", 400),
    ("POST", "Users", None, b"\xff\xfe", 400),
    ("POST", "Users", None, b"[1, 2]", 400),
    ("POST", "Users", {"schemas": [USER_SCHEMA]}, None, 400),
    ("POST", "Users", {"userName": 42}, None, 400),
    ("POST", "Users", {"userName": "alice"}, None, 409),
    ("POST", "Users", {"userName": "new", "emails": [{"value": "ALICE@example.com"}]}, None, 409),
    ("POST", "Users", {"userName": "new", "emails": [{"value": "not an address"}]}, None, 400),
    ("POST", "Users", {"userName": "new", "emails": "x"}, None, 400),
    ("POST", "Users", {"userName": "new", "password": "t0ps3cret"}, None, 400),
    ("POST", "Users", {"userName": "new", "active": "maybe"}, None, 400),
    ("POST", "Users", {"userName": "has space"}, None, 400),
    ("POST", "Users", {"userName": "new", "name": "Ana"}, None, 400),
    ("POST", "Users", {"userName": "new", "externalId": "a\x00"}, None, 400),
    ("PATCH", "Users/{alice}", {"Operations": [{"op": "replace", "path": "name.givenName", "value": "a\x00b"}]},
     None, 400),
    ("POST", "Groups", {"displayName": "a\x00b"}, None, 400),
    ("GET", 'Users?filter=userName eq "a%00b"', None, None, 400),
    ("GET", 'Users?filter=title eq "x"', None, None, 400),
    ("GET", "Users?filter=userName eq", None, None, 400),
    ("GET", 'Users?filter=active eq "abc"', None, None, 200),  # matches nobody
    ("GET", "Users?filter=%00", None, None, 400),
    ("GET", 'Users?filter=emails[type eq "work"].value eq "x"', None, None, 400),
    ("GET", "Users?startIndex=abc", None, None, 400),
    ("GET", "Users?count=-1", None, None, 400),
    ("PATCH", "Users/{alice}", {"Operations": "x"}, None, 400),
    ("PATCH", "Users/{alice}", {"Operations": [{"op": "explode", "path": "active"}]}, None, 400),
    ("PATCH", "Users/{alice}", {"Operations": [{"op": "replace", "path": "nonsense", "value": 1}]}, None, 400),
    ("PATCH", "Users/{alice}", {"Operations": [{"op": "remove", "path": "active"}]}, None, 400),
    ("PATCH", "Users/{alice}", {"Operations": [{"op": "remove"}]}, None, 400),
    ("PATCH", "Users/{alice}", {"Operations": [{"op": "replace", "path": 5, "value": 1}]}, None, 400),
    ("PATCH", "Users/{alice}", {"Operations": [{"op": "replace", "value": [1]}]}, None, 400),
    ("PATCH", "Users/{alice}", {"Operations": [{"op": "replace", "path": "userName", "value": "bob"}]}, None, 409),
    ("POST", "Groups", {"displayName": ""}, None, 400),
    ("POST", "Groups", {"displayName": "North"}, None, 409),
    ("POST", "Groups", {"displayName": "X", "members": [{"value": "nobody"}]}, None, 400),
    ("POST", "Groups", {"displayName": "X", "members": [{"value": "999999"}]}, None, 400),
    ("PATCH", "Groups/{north}", {"Operations": [{"op": "add", "path": "members", "value": "x"}]}, None, 400),
    ("PATCH", "Groups/{north}", {"Operations": [{"op": "add", "path": "owner", "value": "x"}]}, None, 400),
    ("DELETE", "Users/abc", None, None, 404),
    ("POST", "Bulk", {}, None, 501),
])
def test_bad_input_gets_a_scim_error_with_a_4xx(scim, personas, method, path, payload, raw, status):
    path = path.format(alice=personas.alice.pk, north=personas.north.pk)
    response = scim(method, path, payload, raw=raw)
    assert response.status_code == status, response.content
    if 400 <= status < 500:
        assert body(response)["schemas"] == [ERROR_SCHEMA]
    User.objects.get(pk=personas.alice.pk)  # nothing was half-made or lost
    assert not User.objects.filter(username="new").exists()


def test_the_service_provider_config_says_what_is_supported(scim):
    config = body(scim("GET", "ServiceProviderConfig"))
    assert (config["patch"]["supported"], config["filter"]["supported"], config["bulk"]["supported"]) == (True, True, False)
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert body(scim("GET", "ResourceTypes"))["Resources"][0]["id"] in ("Group", "User")


def test_a_create_with_make_user_then_list(scim, personas):
    make_user("zed")
    listed = body(scim("GET", "Users?startIndex=1&count=2"))
    assert listed["totalResults"] == User.objects.count()
    assert listed["itemsPerPage"] == 2


def test_a_cx_admin_makes_a_scim_token_with_the_command_or_the_api(personas, api_client, capsys):
    from django.core.management import call_command

    call_command("create_api_token", "adam", "--scim", "--name", "Entra provisioning")
    key = capsys.readouterr().out.strip()
    assert Scim(key)("GET", "Users").status_code == 200
    api_client.force_authenticate(personas.adam)
    response = api_client.post("/api/v1/tokens/", {"name": "Okta", "scope": "scim"}, format="json")
    assert response.status_code == 201
    assert response.json()["scope"] == "scim"
    assert Scim(response.json()["key"])("GET", "Groups").status_code == 200


def test_a_cx_admin_makes_a_scim_token_on_the_api_tokens_page(client, personas):
    client.force_login(personas.alice)
    assert 'name="scope"' not in client.get("/account/api-tokens/").content.decode()  # agents make API tokens only
    client.force_login(personas.adam)
    assert 'name="scope"' in client.get("/account/api-tokens/").content.decode()
    made = client.post("/account/api-tokens/", {"name": "Entra provisioning", "expires_in_days": "365", "scope": "scim"})
    assert made.status_code == 201
    token = ApiToken.objects.get(user=personas.adam)
    assert token.scope == ApiToken.Scope.SCIM
    key = made.content.decode().split('id="new-token-key">')[1].split("<")[0]
    assert Scim(key)("GET", "Users").status_code == 200
    assert "SCIM provisioning" in client.get("/account/api-tokens/").content.decode()
    refused = client.post("/account/api-tokens/", {"name": "x", "expires_in_days": "30", "scope": "scim", "read_only": "on"})
    assert refused.status_code == 422
    assert "cannot be read-only" in refused.content.decode()
