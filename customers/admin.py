"""Accounts and their contacts are kept in the admin (until the CRM import arrives); identities,
merges and consent changes are shown read-only (they are written by customers.services)."""

from django.contrib import admin

from customers.models import Account, ConsentChange, Contact, CustomerMerge, Identity


class ContactInline(admin.TabularInline):
    model = Contact
    raw_id_fields = ["customer"]
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "owner", "value", "renewal_date"]
    search_fields = ["name", "external_id"]
    raw_id_fields = ["parent"]
    inlines = [ContactInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ["customer", "kind", "value", "source", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value"]


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    list_display = ["merged", "target", "by", "created_at", "undone_at"]


@admin.register(ConsentChange)
class ConsentChangeAdmin(ReadOnlyAdmin):
    list_display = ["customer", "channel", "from_value", "to_value", "via", "by", "created_at"]
