from django.contrib import admin

from alerts.models import Alert, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "active", "metric", "operator", "threshold", "action", "stop_processing"]
    list_filter = ["active", "action", "metric"]
    filter_horizontal = ["surveys", "notify_users"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "rule", "response", "action", "email_status", "created_at"]
    list_filter = ["action", "email_status"]
    raw_id_fields = ["response", "praised_user"]
    readonly_fields = ["reasons", "created_at"]
