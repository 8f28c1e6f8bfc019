from django.contrib import admin

from improvement.models import ActionPlan


@admin.register(ActionPlan)
class ActionPlanAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "status", "due_date", "change_date"]
    list_filter = ["status"]
    raw_id_fields = ["owner", "team", "created_by", "cases"]
