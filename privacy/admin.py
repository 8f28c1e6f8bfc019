"""Admin: the customer personal-data page (export / erase actions) and the audit trail."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse

from privacy.models import CustomerData, PrivacyLog
from privacy.services import customer_erase, customer_export


class AdminRoleOnly:
    """Only CX admins (role or superuser) reach these pages."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_admin_role

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


@admin.register(CustomerData)
class CustomerDataAdmin(AdminRoleOnly, admin.ModelAdmin):
    list_display = ["id", "name", "email", "tier", "erased_at"]
    search_fields = ["email", "name", "external_id"]
    list_filter = ["erased_at"]
    actions = ["export_data", "erase_data"]
    readonly_fields = [f.name for f in CustomerData._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # erase, never delete: aggregates keep the row

    @admin.action(description="Export the selected customers' data (JSON)")
    def export_data(self, request, queryset):
        data = [customer_export(customer_id=pk, by=request.user, via=PrivacyLog.Via.ADMIN) for pk in queryset.values_list("pk", flat=True)]
        response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, indent=2), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="customer-data.json"'
        return response

    @admin.action(description="Erase the selected customers' personal data")
    def erase_data(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "privacy/erase_confirm.html",
                {**self.admin_site.each_context(request), "customers": queryset, "opts": self.model._meta,
                 "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "title": "Erase personal data"},
            )
        reason = request.POST.get("reason", "")
        for pk in queryset.values_list("pk", flat=True):
            customer_erase(customer_id=pk, by=request.user, via=PrivacyLog.Via.ADMIN, reason=reason)
        self.message_user(request, f"Erased the personal data of {queryset.count()} customer(s).", messages.SUCCESS)
        return None


@admin.register(PrivacyLog)
class PrivacyLogAdmin(AdminRoleOnly, admin.ModelAdmin):
    list_display = ["created_at", "action", "via", "customer_id", "actor_name", "reason"]
    list_filter = ["action", "via"]
    readonly_fields = ["created_at", "action", "via", "customer_id", "actor", "actor_name", "reason", "summary"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
