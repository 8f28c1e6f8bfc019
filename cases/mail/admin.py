"""Inbound e-mail in the admin, read-only: what came in, through which door, and what became of
it (a refusal says why). Registered from cases.admin."""

from django.contrib import admin

from cases.mail.models import InboundMail


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    list_display = ("received_at", "door", "outcome", "case", "from_address", "subject", "reason")
    list_filter = ("door", "outcome")
    search_fields = ("message_id", "from_address", "subject")
    readonly_fields = [f.name for f in InboundMail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
