from django.contrib import admin

from outcomes.models import OutcomeEvent


@admin.register(OutcomeEvent)
class OutcomeEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "amount", "currency", "customer", "account", "source", "external_id")
    list_filter = ("kind", "source", "currency")
    search_fields = ("external_id", "customer__email", "customer__external_id", "account__name")
    raw_id_fields = ("customer", "account")
    date_hierarchy = "occurred_at"
