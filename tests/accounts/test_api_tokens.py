"""API tokens (issue #20 item 2): shown once, stored hashed, named, with an expiry and a read-only
option, listed and revoked per person on the API tokens page and through /api/v1/tokens/."""

from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken
from tests.factories import api_key_for

pytestmark = pytest.mark.django_db


def auth(api_client, key):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client


def test_a_key_is_stored_only_as_its_hash(personas, api_client):
    key = api_key_for(personas.alice, name="CRM sync")
    assert key.startswith("cl_") and len(key) == 3 + 8 + 43
    token = ApiToken.objects.get(user=personas.alice)
    assert (token.name, token.prefix) == ("CRM sync", key[:11])
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    row = ApiToken.objects.filter(pk=token.pk).values_list("name", "prefix", "digest").get()
    assert not any(key in str(value) for value in row)
    assert token.expires_at.date() == (timezone.now() + timedelta(days=90)).date()
    assert auth(api_client, key).get("/api/v1/tokens/").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_a_wrong_key_with_a_real_prefix_is_refused(personas, api_client):
    key = api_key_for(personas.alice)
    answer = auth(api_client, key[:-1] + ("A" if key[-1] != "A" else "B")).get("/api/v1/tokens/")
    assert answer.status_code == 401 and answer["WWW-Authenticate"] == "Token"
    assert answer.json() == {"detail": "Invalid token."}


def test_an_expired_token_is_refused_with_a_reason(personas, api_client):
    key = api_key_for(personas.alice, expires_in_days=1)
    ApiToken.objects.filter(user=personas.alice).update(expires_at=timezone.now() - timedelta(minutes=1))
    answer = auth(api_client, key).get("/api/v1/tokens/")
    assert answer.status_code == 401
    assert "This token expired on" in answer.json()["detail"] and "/account/api-tokens/" in answer.json()["detail"]


def test_a_token_without_expiry_keeps_working(personas, api_client):
    key = api_key_for(personas.alice, expires_in_days=None)
    assert ApiToken.objects.get(user=personas.alice).expires_at is None
    assert auth(api_client, key).get("/api/v1/tokens/").status_code == 200


def test_a_read_only_token_reads_but_cannot_write(personas, api_client):
    key = api_key_for(personas.adam, read_only=True)
    assert auth(api_client, key).get("/api/v1/users/").status_code == 200
    answer = auth(api_client, key).post("/api/v1/tokens/", {"name": "escalate"}, format="json")
    assert answer.status_code == 403
    assert "read-only" in answer.json()["detail"]
    assert ApiToken.objects.filter(user=personas.adam).count() == 1


def test_the_api_creates_a_token_and_shows_its_key_once(personas, api_client):
    api_client.force_login(personas.alice)
    answer = api_client.post("/api/v1/tokens/", {"name": "Reporting", "expires_in_days": 30, "read_only": True},
                             format="json")
    assert answer.status_code == 201
    body = answer.json()
    assert body["name"] == "Reporting" and body["read_only"] is True and body["key"].startswith(body["prefix"])
    listed = api_client.get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["Reporting"] and "key" not in listed[0]
    refused = api_client.post("/api/v1/tokens/", {"name": "x", "expires_in_days": 0}, format="json")
    assert refused.status_code == 400 and "expires_in_days" in refused.json()


def test_people_revoke_their_own_tokens_and_admins_anyones(personas, api_client):
    alice_key = api_key_for(personas.alice)
    api_key_for(personas.bob)
    alice_token, bob_token = ApiToken.objects.get(user=personas.alice), ApiToken.objects.get(user=personas.bob)
    api_client.force_login(personas.alice)
    assert [t["id"] for t in api_client.get("/api/v1/tokens/").json()["results"]] == [alice_token.pk]
    assert api_client.delete(f"/api/v1/tokens/{bob_token.pk}/").status_code == 404
    assert ApiToken.objects.filter(pk=bob_token.pk).exists()
    api_client.force_login(personas.adam)
    assert api_client.delete(f"/api/v1/tokens/{bob_token.pk}/").status_code == 204
    api_client.force_login(personas.alice)
    assert api_client.delete(f"/api/v1/tokens/{alice_token.pk}/").status_code == 204
    assert not ApiToken.objects.exists()
    api_client.logout()
    assert auth(api_client, alice_key).get("/api/v1/tokens/").status_code == 401


def test_the_page_shows_a_new_key_once_and_revokes(client, personas):
    client.force_login(personas.alice)
    made = client.post("/account/api-tokens/", {"name": "Sheet export", "expires_in_days": "", "read_only": "on"})
    assert made.status_code == 201 and made["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=personas.alice)
    assert (token.name, token.read_only, token.expires_at) == ("Sheet export", True, None)
    text = made.content.decode()
    key = text.split('id="new-token-key">')[1].split("<")[0]
    assert key.startswith(token.prefix) and token.digest == hashlib.sha256(key.encode()).hexdigest()
    again = client.get("/account/api-tokens/").content.decode()
    assert "Sheet export" in again and token.prefix in again and key not in again
    assert client.post("/account/api-tokens/", {"name": " ", "expires_in_days": "90"}).status_code == 422
    client.force_login(personas.bob)
    assert client.post(f"/account/api-tokens/{token.pk}/revoke/").status_code == 404
    assert "Sheet export" not in client.get("/account/api-tokens/").content.decode()
    client.force_login(personas.adam)
    assert "Sheet export" in client.get("/account/api-tokens/").content.decode()
    assert client.post(f"/account/api-tokens/{token.pk}/revoke/").status_code == 302
    assert not ApiToken.objects.exists()


def test_the_admin_lists_tokens_without_their_digest(client, personas):
    api_key_for(personas.alice, name="CRM sync")
    token = ApiToken.objects.get()
    personas.adam.is_staff = personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    listing = client.get("/admin/accounts/apitoken/").content.decode()
    assert "CRM sync" in listing and token.prefix in listing and token.digest not in listing
    assert token.digest not in client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()


def test_create_api_token_prints_a_new_named_key_each_time(personas, api_client, capsys):
    call_command("create_api_token", "alice", "--name", "Nightly export", "--read-only")
    first = capsys.readouterr().out.strip()
    call_command("create_api_token", "alice")
    second = capsys.readouterr().out.strip()
    assert first != second
    assert sorted(ApiToken.objects.filter(user=personas.alice).values_list("name", "read_only")) == [
        ("Command line", False), ("Nightly export", True)]
    assert auth(api_client, first).get("/api/schema/").status_code == 200


def test_keys_from_drf_authtoken_are_moved_hashed_and_keep_working(personas, api_client):
    legacy = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, "
                       "user_id bigint NOT NULL)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [legacy, personas.alice.pk])
    migration = importlib.import_module("accounts.migrations.0004_api_tokens")
    from django.apps import apps

    with connection.schema_editor() as editor:
        migration.move_authtoken_keys(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get(user=personas.alice)
    assert (token.prefix, token.expires_at) == ("01234567", None)
    assert auth(api_client, legacy).get("/api/v1/tokens/").status_code == 200
