from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import ApiToken, ClosedDay, Membership, SlaPolicy, SsoIdentity, Team, User
from accounts.teams import team_save

# Forms here run the models' clean(), i.e. accounts.validation: the admin refuses what the settings
# pages (/settings/) and the API refuse.


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (("Closeloop", {"fields": ("role", "is_away", "phone", "language", "timezone")}),)
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
    list_display = ("name", "slug", "is_default", "assignment", "timezone", "language", "holiday_country")
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


_django_admin_login = admin.site.login


def _admin_login(request, extra_context=None):
    """The Django admin has its own password form, which would sign in without the second factor
    and around the product's sign-in page: someone not signed in is sent to /login/ instead (the
    code step and the lockout apply there) and comes back to the admin afterwards. A signed-in
    person who is not staff still gets the admin's own "not authorised" page."""
    if request.user.is_authenticated:
        return _django_admin_login(request, extra_context)
    return redirect_to_login(request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index"), login_url=reverse("login"))


admin.site.login = _admin_login
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
