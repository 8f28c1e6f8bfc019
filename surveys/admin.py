from django.contrib import admin, messages

from surveys.models import Customer, Survey, SurveyResponse, WebhookDelivery, WebhookSource
from surveys.services import delivery_replay


@admin.register(WebhookSource)
class WebhookSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "vendor", "active", "rate_limit_per_second", "created_at"]
    list_filter = ["vendor", "active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_id", "source", "status", "attempts", "received_at", "processed_at", "error"]
    list_filter = ["status", "source"]
    search_fields = ["delivery_id", "error"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected failed deliveries")
    def replay(self, request, queryset):
        count = sum(delivery_replay(delivery=d) for d in queryset)
        messages.success(request, f"{count} deliveries queued again.")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "external_id", "created_at"]
    list_filter = ["source"]
    search_fields = ["name", "external_id"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "external_id", "tier", "segment", "account_value"]
    search_fields = ["name", "email", "external_id"]
    list_filter = ["tier", "segment"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ["external_id", "source", "survey", "nps", "csat", "ces", "answered_at", "team"]
    list_filter = ["source", "team"]
    search_fields = ["external_id", "comment", "customer__email"]
    raw_id_fields = ["customer", "survey"]
    date_hierarchy = "answered_at"
