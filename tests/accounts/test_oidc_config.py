"""Single sign-on settings: the maps read from the environment, the check that refuses role names
that are not roles, and the mapping from groups to a role and teams (pure functions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.sso.checks import sso_settings_check
from accounts.sso.config import sso_config
from accounts.sso.mapping import SsoRefused, role_for, sign_in_from_claims, teams_for
from config.env import envmap

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_map_is_written_as_pairs_or_as_json(monkeypatch):
    monkeypatch.setenv("M", "cx-admins=admin, cx-all=north,cx-all=south")
    assert envmap("M") == {"cx-admins": ["admin"], "cx-all": ["north", "south"]}
    monkeypatch.setenv("M", '{"/Support/North": "north", "CX, all": ["north", "south"]}')
    assert envmap("M") == {"/Support/North": ["north"], "CX, all": ["north", "south"]}
    monkeypatch.setenv("M", "")
    assert envmap("M") == {}


@pytest.mark.parametrize("raw", ["cx-admins", "=admin", "cx-admins=", '{"a": 1}', "{not json"])
def test_a_map_that_cannot_be_read_stops_the_settings_with_its_name(monkeypatch, raw):
    monkeypatch.setenv("OIDC_ROLE_MAP", raw)
    with pytest.raises(ImproperlyConfigured, match="OIDC_ROLE_MAP"):
        envmap("OIDC_ROLE_MAP")


@pytest.mark.slow
def test_single_sign_on_half_configured_refuses_to_start():
    """OIDC_RP_CLIENT_ID without the endpoints: the settings name what is missing."""
    env = {"OIDC_RP_CLIENT_ID": "closeloop", "SECRET_KEY": "k" * 50, "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", "import config.settings"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "set OIDC_RP_CLIENT_SECRET, OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT" in result.stderr
    env["OIDC_OP_ISSUER"] = "https://sso.example.com/realms/cx"  # the endpoints then come from discovery
    result = subprocess.run([sys.executable, "-c", "import config.settings"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert "set OIDC_RP_CLIENT_SECRET too" in result.stderr


def test_the_check_refuses_role_names_that_are_not_roles(settings):
    settings.OIDC_RP_CLIENT_ID = "closeloop"
    settings.OIDC_ROLE_MAP = {"cx-admins": ["superhero"]}
    settings.OIDC_DEFAULT_ROLE = "agent"
    errors = sso_settings_check()
    assert [e.id for e in errors] == ["closeloop.E020"]
    assert "'superhero', which is not a role" in errors[0].msg
    settings.OIDC_ROLE_MAP = {"cx-admins": ["admin"]}
    assert sso_settings_check() == []
    settings.OIDC_RP_CLIENT_ID = ""
    settings.OIDC_ROLE_MAP = {"cx-admins": ["superhero"]}
    assert sso_settings_check() == []  # off: nothing to check


def _config(settings, **values):
    settings.OIDC_RP_CLIENT_ID = "closeloop"
    for name, value in values.items():
        setattr(settings, name, value)
    return sso_config()


def test_the_highest_mapped_role_wins_and_the_default_covers_the_rest(settings):
    config = _config(settings, OIDC_ROLE_MAP={"cx-managers": ["manager"], "cx-admins": ["admin"]},
                     OIDC_DEFAULT_ROLE="agent")
    assert role_for(("cx-managers", "cx-admins"), config) == "admin"
    assert role_for(("cx-managers", "other"), config) == "manager"
    assert role_for(("other",), config) == "agent"
    assert role_for((), _config(settings, OIDC_DEFAULT_ROLE="")) == ""  # no access
    assert role_for(("cx-admins",), _config(settings, OIDC_ROLE_MAP={})) is None  # roles are set in Closeloop


def test_the_team_map_manages_only_the_teams_it_names(settings):
    config = _config(settings, OIDC_TEAM_MAP={"cx-north": ["north"], "cx-all": ["north", "south"]})
    assert teams_for(("cx-north", "x"), config) == (frozenset({"north", "south"}), frozenset({"north"}))
    assert teams_for(("cx-all",), config)[1] == frozenset({"north", "south"})
    assert teams_for((), config)[1] == frozenset()


def test_claims_become_a_sign_in(settings):
    config = _config(settings, OIDC_CLAIM_GROUPS="roles")
    sign_in = sign_in_from_claims({"sub": "42", "email": "ines@example.com", "email_verified": "true",
                                   "preferred_username": "ines", "roles": "cx-admins"}, issuer="https://idp", config=config)
    assert (sign_in.subject, sign_in.email_verified, sign_in.groups) == ("42", True, ("cx-admins",))
    with pytest.raises(SsoRefused) as no_sub:
        sign_in_from_claims({"email": "ines@example.com"}, issuer="https://idp", config=config)
    assert no_sub.value.status == 400
    with pytest.raises(SsoRefused) as no_email:
        sign_in_from_claims({"sub": "42"}, issuer="https://idp", config=config)
    assert "sent no e-mail address" in no_email.value.message
