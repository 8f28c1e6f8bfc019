from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.models import (
    Customer,
    FeedbackKind,
    RefusedDelivery,
    ResponseTheme,
    Survey,
    SurveyResponse,
    Theme,
    WebhookDelivery,
    WebhookSource,
)
from surveys.services import (
    delivery_replay,
    response_tags_follow,
    source_problems,
    theme_problems,
    theme_retag_later,
)
from surveys.services.sources import auth_masked, auth_unmasked, mapping_canonical, secret_rotate
from surveys.text import themes_changed
from surveys.theme_forms import KeywordsField


class WebhookSourceAdminForm(forms.ModelForm):
    """Checked by the one validation every door runs (surveys.services.sources.source_problems):
    an unknown auth option or mapping key is refused here too, naming it."""

    class Meta:
        model = WebhookSource
        exclude = ["previous_secret", "previous_secret_expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Survey answers unless said otherwise (the set-up page and the API default alike).
        self.fields["feedback_kind"].required = False
        if self.instance.pk:  # vendor credentials are shown by their last 4 characters only
            self.initial["auth"] = auth_masked(self.instance.auth)

    def clean(self):
        cleaned = super().clean()
        cleaned["feedback_kind"] = cleaned.get("feedback_kind") or (
            self.instance.feedback_kind if self.instance.pk else FeedbackKind.SURVEY)
        cleaned["auth"] = auth_unmasked(cleaned.get("auth"), self.instance.auth if self.instance.pk else {})
        if not cleaned.get("vendor"):
            return cleaned
        problems = source_problems(vendor=cleaned["vendor"], mapping=cleaned.get("mapping") or {},
                                   auth=cleaned.get("auth") or {})
        for field, messages_ in problems.items():
            for message in messages_:
                self.add_error(field if field in self.fields else None, message)
        if "mapping" not in problems and cleaned.get("mapping"):
            cleaned["mapping"] = mapping_canonical(cleaned["mapping"])
        return cleaned


@admin.register(WebhookSource)
class WebhookSourceAdmin(admin.ModelAdmin):
    """Sources are best set up on the set-up page (/surveys/setup/: steps, test delivery, preview);
    this form saves through the same checks."""

    form = WebhookSourceAdminForm
    list_display = ["name", "slug", "vendor", "active", "rate_limit_per_second", "created_at"]
    list_filter = ["vendor", "active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["previous_secret_expires_at"]

    def save_model(self, request, obj, form, change):
        if change and "secret" in form.changed_data:
            old = WebhookSource.objects.get(pk=obj.pk)
            obj.secret, new = old.secret, obj.secret
            secret_rotate(obj, grace_hours=obj.secret_grace_hours)
            obj.secret = new
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_id", "source", "status", "attempts", "received_at", "processed_at", "error"]
    list_filter = ["status", "source"]
    search_fields = ["delivery_id", "error"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected failed deliveries")
    def replay(self, request, queryset):
        count = sum(delivery_replay(delivery=d) for d in queryset)
        messages.success(request, _("%(count)s deliveries queued again.") % {"count": count})


@admin.register(RefusedDelivery)
class RefusedDeliveryAdmin(admin.ModelAdmin):
    """Read-only: refusals are recorded by the webhook doors (a sample of them, see docs/webhooks.md)."""

    list_display = ["received_at", "slug", "status", "reason", "message", "size", "sender"]
    list_filter = ["reason", "status"]
    search_fields = ["slug", "sender", "message"]
    readonly_fields = [f.name for f in RefusedDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "external_id", "created_at"]
    list_filter = ["source"]
    search_fields = ["name", "external_id"]

    def get_readonly_fields(self, request, obj=None):
        # A survey's responses came through its source and name it: moved to another source, the
        # survey would no longer be theirs (the theme rollup reads a response's source from its survey).
        return ("source",) if obj is not None else ()


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "external_id", "tier", "segment", "account_value"]
    search_fields = ["name", "email", "external_id"]
    list_filter = ["tier", "segment"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ["external_id", "source", "survey", "nps", "csat", "ces", "answered_at", "team"]
    list_filter = ["source", "team"]
    search_fields = ["external_id", "comment", "customer__email"]
    raw_id_fields = ["customer", "survey"]
    date_hierarchy = "answered_at"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "answered_at" in form.changed_data:
            response_tags_follow(obj)


class ThemeAdminForm(forms.ModelForm):
    keywords = KeywordsField(label="Keywords and phrases", required=False, help_text="One per line.")

    class Meta:
        model = Theme
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        problems = theme_problems(name=cleaned.get("name") or "", keywords=cleaned.get("keywords") or [],
                                  status=cleaned.get("status") or Theme.Status.ACTIVE, exclude_pk=self.instance.pk)
        for field, messages_ in problems.items():
            for message in messages_:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    """Themes are best edited on the Themes page (preview, re-tagging); saving here too tells
    every process to reload the themes, and re-tags recent responses when an active theme's
    keywords change."""

    form = ThemeAdminForm
    list_display = ["name", "slug", "status", "origin", "updated_at", "decided_at"]
    list_filter = ["status", "origin"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = ["created_at", "updated_at", "decided_at", "decided_by"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            obj.decided_at, obj.decided_by = timezone.now(), request.user
        super().save_model(request, obj, form, change)
        themes_changed()
        if obj.status == Theme.Status.ACTIVE and {"keywords", "status"} & set(form.changed_data):
            theme_retag_later(obj.pk)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        themes_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        themes_changed()


@admin.register(ResponseTheme)
class ResponseThemeAdmin(admin.ModelAdmin):
    list_display = ["response", "theme", "matches", "answered_at"]
    list_filter = ["theme"]
    raw_id_fields = ["response"]
    date_hierarchy = "answered_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
