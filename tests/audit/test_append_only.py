"""The audit trail is append-only and outlives the people in it: an entry cannot be updated or
deleted through the model, its querysets, or (on PostgreSQL) plain SQL; deleting a user leaves
their entries as they were, with their id, user name and e-mail."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import SlaPolicy
from audit.models import AppendOnlyError, AuditEntry
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(personas, api_client) -> AuditEntry:
    api_client.force_authenticate(personas.adam)
    assert api_client.post("/api/v1/sla-policies/", {"name": "Fast", "first_contact_hours": "2",
                                                      "resolution_hours": "8"}, format="json").status_code == 201
    return AuditEntry.objects.get(content_type__model="slapolicy", action=AuditEntry.Action.CREATE)


def test_an_entry_cannot_be_changed_or_deleted_through_the_orm(entry):
    entry.object_repr = "Something else"
    with pytest.raises(AppendOnlyError, match="append-only: an entry cannot be updated"):
        entry.save()
    with pytest.raises(AppendOnlyError, match="cannot be deleted"):
        entry.delete()
    with pytest.raises(AppendOnlyError, match="cannot be updated"):
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="Something else")
    with pytest.raises(AppendOnlyError, match="cannot be deleted"):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError, match="cannot be deleted"):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == "Fast"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_update_and_delete_whatever_the_client(entry):
    for statement in ("UPDATE audit_auditentry SET object_repr = 'forged' WHERE id = %s",
                      "DELETE FROM audit_auditentry WHERE id = %s"):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == "Fast"


def test_the_entries_of_a_deleted_user_stay_as_they_were(api_client, personas):
    ravi = make_user("ravi", role="admin", email="ravi@example.com")
    api_client.force_authenticate(ravi)
    assert api_client.post("/api/v1/sla-policies/", {"name": "Fast", "first_contact_hours": "2",
                                                      "resolution_hours": "8"}, format="json").status_code == 201
    policy = SlaPolicy.objects.get(name="Fast")
    api_client.force_authenticate(personas.adam)
    before = AuditEntry.objects.filter(actor_id=ravi.pk).count()
    assert before >= 1
    ravi_id = ravi.pk
    ravi.delete()
    kept = AuditEntry.objects.get(object_pk=str(policy.pk), content_type__model="slapolicy")
    assert (kept.actor_id, kept.actor_username, kept.actor_email) == (ravi_id, "ravi", "ravi@example.com")
    assert AuditEntry.objects.filter(actor_id=ravi_id).count() == before
    deletion = AuditEntry.objects.get(content_type__model="user", object_pk=str(ravi_id), action=AuditEntry.Action.DELETE)
    assert deletion.object_repr == "ravi"
    listed = api_client.get("/api/v1/audit/", {"actor_id": ravi_id, "object_type": "accounts.slapolicy"}).json()
    assert [(e["actor_id"], e["actor"], e["actor_email"]) for e in listed["results"]] == [
        (ravi_id, "ravi", "ravi@example.com")]
