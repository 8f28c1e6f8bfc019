from django.contrib import admin

from contactpolicy.models import ContactEvent


@admin.register(ContactEvent)
class ContactEventAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "customer_id", "sender", "channel", "in_breach"]
    list_filter = ["kind", "in_breach", "channel"]
    raw_id_fields = ["customer", "source", "reported_by"]
    date_hierarchy = "at"
