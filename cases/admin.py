"""Admin for what CX admins configure: root-cause taxonomy, routing rules, customer e-mail
templates, playbooks; and the root-cause models in use (read-only). Cases themselves are read-only here: every change to a case goes through the
services (the inbox, the API), never through an admin form."""

from django import forms
from django.contrib import admin

from cases.models import (
    Case,
    CaseEvent,
    EmailTemplate,
    Notification,
    NotificationPreference,
    Playbook,
    RootCause,
    RootCauseCategory,
    RootCauseModel,
    RoutingRule,
)


class RootCauseInline(admin.TabularInline):
    model = RootCause
    extra = 1
    fields = ("name", "active")


@admin.register(RootCauseCategory)
class RootCauseCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "active")
    list_editable = ("order", "active")
    inlines = [RootCauseInline]

    def has_delete_permission(self, request, obj=None):
        return False  # retire (active = off) instead: closed cases keep their root cause


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    list_display = ("__str__", "category", "active")
    list_filter = ("active", "category")
    list_editable = ("active",)
    search_fields = ("name", "category__name")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "team", "active", "sla_policy")
    list_editable = ("order", "active")
    list_filter = ("active", "team")
    filter_horizontal = ("surveys",)


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "subject", "language", "active", "order")
    list_editable = ("active", "order")
    list_filter = ("language", "active")


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor", "from_value", "to_value", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("reference", "status", "priority", "team", "assignee", "resolution_due", "created_at")
    list_filter = ("status", "priority", "team")
    search_fields = ("reference", "customer__name", "customer__email")
    inlines = [CaseEventInline]
    list_select_related = ("team", "assignee")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Case._meta.fields] + ["responses"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "channel", "address", "status", "attempts", "case")
    list_filter = ("status", "kind", "channel")
    search_fields = ("address", "case__reference")
    readonly_fields = [f.name for f in Notification._meta.fields]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "enabled")
    list_filter = ("kind", "enabled")


class StepsField(forms.CharField):
    """The checklist as a textarea, one step per line (blank lines dropped)."""

    widget = forms.Textarea(attrs={"rows": 6})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(str(step) for step in value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class PlaybookAdminForm(forms.ModelForm):
    steps = StepsField(required=False, help_text="One step per line, in the order to do them.")

    class Meta:
        model = Playbook
        fields = ["name", "root_cause", "theme", "steps", "script", "active"]

    def clean(self):
        data = super().clean()
        if bool(data.get("root_cause")) == bool(data.get("theme")):
            raise forms.ValidationError("Choose either a root cause or a theme (exactly one).")
        return data


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    form = PlaybookAdminForm
    list_display = ("name", "root_cause", "theme", "step_count", "active", "updated_at")
    list_filter = ("active",)
    list_editable = ("active",)
    search_fields = ("name", "script", "root_cause__name", "theme__name")
    list_select_related = ("root_cause__category", "theme")
    autocomplete_fields = ("root_cause",)

    @admin.display(description="Steps")
    def step_count(self, obj) -> int:
        return len(obj.steps or [])


@admin.register(RootCauseModel)
class RootCauseModelAdmin(admin.ModelAdmin):
    """The trained root-cause classifiers (newest in use). Read-only: the nightly task trains them."""

    list_display = ("created_at", "trained_on", "classes", "top1", "top3", "held_out")
    fields = ("created_at", "trained_on", "classes", "top1", "top3", "held_out", "size")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("blob")

    @admin.display(description="Top-1 accuracy (held out)")
    def top1(self, obj) -> str:
        return "—" if obj.accuracy_top1 is None else f"{obj.accuracy_top1:.1%}"

    @admin.display(description="Top-3 accuracy (held out)")
    def top3(self, obj) -> str:
        return "—" if obj.accuracy_top3 is None else f"{obj.accuracy_top3:.1%}"

    @admin.display(description="Size")
    def size(self, obj) -> str:
        blob = RootCauseModel.objects.filter(pk=obj.pk).values_list("blob", flat=True).first()
        return f"{len(blob or b'') / 1024:.0f} KiB"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # view only (admins keep the view permission)

    def has_delete_permission(self, request, obj=None):
        return False


from cases.mail import admin as _mail_admin  # noqa: E402,F401  (inbound e-mail, read-only)
