"""Segments in the Django admin: saving and deleting go through segments.services like the
settings page (validated, audited, rules recompiled); a segment in use is not deleted."""

from django.contrib import admin, messages

from segments.models import Segment
from segments.services import SegmentInUse, segment_delete, segment_save


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "match", "updated_at")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        segment_save(obj)  # the form ran Segment.clean() already: the same checks

    def delete_model(self, request, obj):
        try:
            segment_delete(obj)
        except SegmentInUse as exc:
            self.message_user(request, str(exc), level=messages.ERROR)

    def delete_queryset(self, request, queryset):
        for segment in queryset:
            self.delete_model(request, segment)
