"""Admin for what CX admins configure: root-cause taxonomy, routing rules, customer e-mail
templates. Cases themselves are read-only here: every change to a case goes through the
services (the inbox, the API), never through an admin form."""

from django.contrib import admin

from cases.models import (
    Case,
    CaseEvent,
    EmailTemplate,
    Notification,
    NotificationPreference,
    RootCause,
    RootCauseCategory,
    RoutingRule,
)


class RootCauseInline(admin.TabularInline):
    model = RootCause
    extra = 1
    fields = ("name", "active")


@admin.register(RootCauseCategory)
class RootCauseCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "active")
    list_editable = ("order", "active")
    inlines = [RootCauseInline]

    def has_delete_permission(self, request, obj=None):
        return False  # retire (active = off) instead: closed cases keep their root cause


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    list_display = ("__str__", "category", "active")
    list_filter = ("active", "category")
    list_editable = ("active",)
    search_fields = ("name", "category__name")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "team", "active", "sla_policy")
    list_editable = ("order", "active")
    list_filter = ("active", "team")
    filter_horizontal = ("surveys",)


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "subject", "active", "order")
    list_editable = ("active", "order")


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor", "from_value", "to_value", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("reference", "status", "priority", "team", "assignee", "resolution_due", "created_at")
    list_filter = ("status", "priority", "team")
    search_fields = ("reference", "customer__name", "customer__email")
    inlines = [CaseEventInline]
    list_select_related = ("team", "assignee")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Case._meta.fields] + ["responses"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "channel", "address", "status", "attempts", "case")
    list_filter = ("status", "kind", "channel")
    search_fields = ("address", "case__reference")
    readonly_fields = [f.name for f in Notification._meta.fields]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "enabled")
    list_filter = ("kind", "enabled")
