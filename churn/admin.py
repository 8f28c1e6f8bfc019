from django.contrib import admin

from churn.models import ChurnModel


@admin.register(ChurnModel)
class ChurnModelAdmin(admin.ModelAdmin):
    """Read-only: a model is made by training (churn.services.churn_retrain), never by hand."""

    list_display = ("created_at", "subject", "trained_on", "churns", "held_out", "held_out_churns", "auc", "brier", "scored")
    list_filter = ("subject",)
    readonly_fields = [f.name for f in ChurnModel._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
