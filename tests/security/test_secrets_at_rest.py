"""Secrets at rest (issue #20 item 2): webhook secrets and vendor credentials are encrypted in the
database with CLOSELOOP_ENCRYPTION_KEYS (Fernet, rotation through MultiFernet), production refuses
to start without a key, a rotated secret's predecessor expires after the source's grace period, and
vendor API tokens are never shown back in full."""

from __future__ import annotations

import importlib
import json
import os
import stat
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from core import crypto
from surveys.models import WebhookSource
from surveys.selectors import webhook_sources_changed
from surveys.services.sources import source_update
from tests.surveys.payloads import closeloop_body, make_source, post, standard_headers

pytestmark = pytest.mark.django_db

TOKEN = "q-api-token-0123456789-WXYZ"


def raw(source) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, previous_secret, auth::text FROM surveys_webhooksource WHERE id = %s",
                       [source.pk])
        return cursor.fetchone()


def qualtrics_source():
    return make_source("qualtrics", auth={"api_base": "https://iad1.qualtrics.com/API/v3", "api_token": TOKEN})


def test_secrets_and_credentials_are_ciphertext_in_the_database():
    source = qualtrics_source()
    secret, previous, auth = raw(source)
    assert source.secret not in secret and TOKEN not in auth and "api_token" not in auth
    assert crypto.decrypt(secret) == source.secret and json.loads(crypto.decrypt(auth))["api_token"] == TOKEN
    fresh = WebhookSource.objects.get(pk=source.pk)
    assert (fresh.secret, fresh.auth["api_token"]) == (source.secret, TOKEN)


def test_a_new_key_first_reads_old_values_and_reencrypt_moves_them(settings):
    old_key = settings.CLOSELOOP_ENCRYPTION_KEYS[0]
    source = qualtrics_source()
    new_key = Fernet.generate_key().decode()
    settings.CLOSELOOP_ENCRYPTION_KEYS = [new_key, old_key]
    assert WebhookSource.objects.get(pk=source.pk).auth["api_token"] == TOKEN
    call_command("reencrypt_secrets", stdout=open(os.devnull, "w"))
    settings.CLOSELOOP_ENCRYPTION_KEYS = [new_key]
    fresh = WebhookSource.objects.get(pk=source.pk)
    assert (fresh.secret, fresh.auth["api_token"]) == (source.secret, TOKEN)
    settings.CLOSELOOP_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(Exception, match="cannot be decrypted"):
        WebhookSource.objects.get(pk=source.pk)


def test_the_migration_encrypts_plain_values_and_starts_the_grace_period():
    source = qualtrics_source()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE surveys_webhooksource SET secret = %s, previous_secret = %s, auth = %s WHERE id = %s",
                       ["plain-secret", "older-secret", json.dumps({"api_token": TOKEN}), source.pk])
    migration = importlib.import_module("surveys.migrations.0007_encrypted_secrets_and_grace")
    from django.apps import apps

    with connection.schema_editor() as editor:
        migration.encrypt_secrets(apps, editor)
        migration.encrypt_secrets(apps, editor)  # twice: values already encrypted stay as they are
    secret, previous, auth = raw(source)
    assert "plain-secret" not in secret and "older-secret" not in previous and TOKEN not in auth
    fresh = WebhookSource.objects.get(pk=source.pk)
    assert (fresh.secret, fresh.previous_secret, fresh.auth) == ("plain-secret", "older-secret", {"api_token": TOKEN})
    assert timedelta(hours=23) < fresh.previous_secret_expires_at - timezone.now() <= timedelta(hours=24)


def test_production_refuses_to_start_without_a_key(settings):
    settings.DEBUG, settings.TESTING, settings.CLOSELOOP_ENCRYPTION_KEYS = False, False, []
    assert [e.id for e in crypto.encryption_keys_check()] == ["closeloop.E010"]
    settings.CLOSELOOP_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    assert [e.id for e in crypto.encryption_keys_check()] == ["closeloop.E011"]
    settings.CLOSELOOP_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert crypto.encryption_keys_check() == []


def test_make_run_makes_its_key_once_readable_by_its_user_only(tmp_path):
    from config.embedded import ensure_encryption_key

    env: dict = {}
    ensure_encryption_key(env, tmp_path)
    key_file = tmp_path / "encryption.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Fernet(env["CLOSELOOP_ENCRYPTION_KEYS"].encode())  # a valid key
    again: dict = {}
    ensure_encryption_key(again, tmp_path)
    assert again == env
    given = {"CLOSELOOP_ENCRYPTION_KEYS": "from-the-environment"}
    ensure_encryption_key(given, tmp_path)
    assert given == {"CLOSELOOP_ENCRYPTION_KEYS": "from-the-environment"}


def test_the_previous_secret_works_during_the_grace_period_only(client):
    source = make_source("standard")
    old = source.secret
    source_update(source=source, secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", secret_grace_hours=2)
    body = closeloop_body()
    assert post(client, source, body, standard_headers(old, body, msg_id="m1")).status_code == 202
    source.refresh_from_db()
    assert timedelta(minutes=119) < source.previous_secret_expires_at - timezone.now() <= timedelta(hours=2)
    WebhookSource.objects.filter(pk=source.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    webhook_sources_changed()  # .update() skips the signal that tells the process cache
    assert post(client, source, closeloop_body(response_id="r-2"),
                standard_headers(old, closeloop_body(response_id="r-2"), msg_id="m2")).status_code == 401
    assert post(client, source, closeloop_body(response_id="r-3"),
                standard_headers(source.secret, closeloop_body(response_id="r-3"), msg_id="m3")).status_code == 202


def test_a_grace_of_zero_refuses_the_previous_secret_at_once(client):
    source = make_source("standard")
    old = source.secret
    source.secret_grace_hours = 0
    source.save()
    source_update(source=source, secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    body = closeloop_body()
    assert post(client, source, body, standard_headers(old, body, msg_id="m1")).status_code == 401


def test_vendor_tokens_are_shown_by_their_last_four_characters(client, api_client, personas):
    source = qualtrics_source()
    client.force_login(personas.adam)
    page = client.get(f"/surveys/setup/source/{source.slug}/").content.decode()
    assert TOKEN not in page and "••••WXYZ" in page
    api_client.force_login(personas.adam)
    read = api_client.get(f"/api/v1/sources/{source.slug}/").json()
    assert read["auth"]["api_token"] == "••••WXYZ" and TOKEN not in json.dumps(read)
    # Sending back what was read keeps the token; a new value replaces it.
    assert api_client.patch(f"/api/v1/sources/{source.slug}/", {"auth": read["auth"]}, format="json").status_code == 200
    assert WebhookSource.objects.get(pk=source.pk).auth["api_token"] == TOKEN
    personas.adam.is_staff = personas.adam.is_superuser = True
    personas.adam.save()
    admin_page = client.get(f"/admin/surveys/webhooksource/{source.pk}/change/").content.decode()
    assert TOKEN not in admin_page and "WXYZ" in admin_page


def test_the_settings_page_rotates_with_its_grace_period_and_keeps_the_masked_token(client, personas):
    source = qualtrics_source()
    old = source.secret
    client.force_login(personas.adam)
    answer = client.post(f"/surveys/setup/source/{source.slug}/", {
        "vendor": "qualtrics", "name": source.name, "secret": "a-new-secret-for-the-tool", "secret_grace_hours": "1",
        "api_base": "https://iad1.qualtrics.com/API/v3", "api_token": "••••WXYZ", "auth": "", "mapping": "",
        "active": "on"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    fresh = WebhookSource.objects.get(pk=source.pk)
    assert (fresh.secret, fresh.previous_secret, fresh.secret_grace_hours) == ("a-new-secret-for-the-tool", old, 1)
    assert fresh.auth["api_token"] == TOKEN
    assert timedelta(minutes=59) < fresh.previous_secret_expires_at - timezone.now() <= timedelta(hours=1)
