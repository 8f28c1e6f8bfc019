from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import ApiToken, ClosedDay, Membership, SlaPolicy, SsoIdentity, Team, User
from accounts.teams import team_save

# Forms here run the models' clean(), i.e. accounts.validation: the admin refuses what the settings
# pages (/settings/) and the API refuse.


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (("Closeloop", {"fields": ("role", "is_away", "phone")}),)
    list_display = ("username", "email", "role", "is_away", "is_active")
    list_filter = ("role", "is_away", "is_active")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class ClosedDayInline(admin.TabularInline):
    model = ClosedDay
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_default", "assignment", "timezone", "holiday_country")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)
    inlines = [MembershipInline, ClosedDayInline]

    def save_model(self, request, obj, form, change):
        team_save(obj)  # a new default takes the flag from the previous one

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.is_default  # one team always catches unrouted cases

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, so the default team cannot go with a batch
        return actions


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "priority", "customer_tier", "first_contact_hours", "resolution_hours", "active")
    list_filter = ("active", "priority")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made on the API tokens page (the key is shown once there); the admin shows who has
    which token and may revoke (delete) one. The digest is never shown."""

    list_display = ("name", "user", "prefix", "scope", "read_only", "created_at", "expires_at", "last_used_at")
    list_filter = ("scope", "read_only")
    search_fields = ("name", "prefix", "user__username")
    fields = ("user", "name", "prefix", "scope", "read_only", "created_at", "expires_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SsoIdentity)
class SsoIdentityAdmin(admin.ModelAdmin):
    """Who is linked to which account at the single sign-on provider (accounts.sso). Deleting a row
    unlinks it: the next sign-in links again by verified e-mail address, or makes a new user."""

    list_display = ("user", "issuer", "subject", "created_at", "last_sign_in_at")
    search_fields = ("user__username", "user__email", "subject")
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False
