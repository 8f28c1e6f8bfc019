"""Import jobs in the Django admin: read-only (they are written by imports.services); the pages at
/imports/ are where people upload and follow them."""

from django.contrib import admin

from imports.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "file_name", "status", "rows_total", "rows_created", "rows_updated",
                    "rows_unchanged", "rows_failed", "created_by", "created_at")
    list_filter = ("kind", "status", "via")
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
