"""The audit trail is read on its own page (/settings/audit/) and at /api/v1/audit/, both for CX
admins, with filters and the CSV export. django-auditlog's admin registers the entry model when
the library is installed; it is taken out again so there is one reader, and no admin screen that
offers to delete entries."""

from django.contrib import admin

from audit.models import AuditEntry

if admin.site.is_registered(AuditEntry):
    admin.site.unregister(AuditEntry)
