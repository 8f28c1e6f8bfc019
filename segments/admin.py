from django.contrib import admin
from django.core.exceptions import ValidationError

from segments.models import Segment
from segments.services import segment_delete, segment_save


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "match", "updated_at")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        try:
            segment_save(obj)
        except ValidationError as exc:  # pragma: no cover - the form ran the same clean()
            form.add_error(None, exc)

    def delete_model(self, request, obj):
        segment_delete(obj)
