"""Read-mostly admin: recovery checks and recognitions are written by the sweep, the public page
and the praise hook (followup.services); the admin shows them and lets a recognition's quote be
corrected, nothing else."""

from django.contrib import admin

from followup.models import Recognition, Verification


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    list_display = ["id", "case", "round", "team", "status", "skip_reason", "question", "answer_value", "recovered",
                    "sent_at", "answered_at"]
    list_filter = ["status", "skip_reason", "question", "recovered", "team"]
    search_fields = ["case__reference", "email"]
    date_hierarchy = "created_at"
    list_select_related = ["case", "team"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Recognition)
class RecognitionAdmin(admin.ModelAdmin):
    list_display = ["id", "praised_user", "location", "team", "score", "created_at", "notified_at"]
    list_filter = ["team"]
    search_fields = ["quote", "location", "praised_user__username", "praised_user__last_name"]
    date_hierarchy = "created_at"
    list_select_related = ["praised_user", "team"]
    readonly_fields = ["response", "alert", "praised_user", "location", "team", "score", "created_at",
                       "notified_at", "recipients"]

    def has_add_permission(self, request):
        return False
