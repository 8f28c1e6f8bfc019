from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as account_views
from core import health, metrics
from surveys.health import readyz

api_v1 = [
    # First: survey tools ask the contact policy before every send, the API's most frequent call;
    # Django tries these includes in order, and the 84 routes of the three below cost a tenth of
    # that answer's CPU when they came first (py-spy, docs/benchmarks_contact_policy.md).
    path("", include("contactpolicy.api_urls")),
    path("", include("surveys.api.urls")),
    path("", include("alerts.api.urls")),
    path("", include("cases.api.urls")),
    path("", include("followup.api_urls")),
    path("", include("segments.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("imports.api.urls")),
    path("", include("journeys.api.urls")),
    path("", include("outcomes.api.urls")),
    path("", include("churn.api.urls")),
    path("", include("reporting.api.urls")),
    path("", include("improvement.api_urls")),
    path("", include("privacy.api_urls")),
    path("", include("accounts.api.urls")),
    path("", include("organisation.api.urls")),
    path("", include("audit.api_urls")),
]

urlpatterns = [
    # The API first: integrators call it most often (the contact policy before every send), and
    # Django tries the patterns in order, so every page route before it was a miss per request.
    # No page route starts with api/ (tests/test_urls.py).
    path("api/v1/", include(api_v1)),
    path("", account_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    # The JavaScript strings of static/js in the page's language (djangojs catalogue, docs/languages.md).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("accounts.urls")),
    path("oidc/", include("accounts.sso.urls")),  # single sign-on (404 while OIDC_RP_CLIENT_ID is unset)
    path("scim/v2/", include("accounts.scim.urls")),  # SCIM 2.0 provisioning (SCIM tokens only)
    path("webhooks/", include("surveys.webhook_urls")),
    path("mail/inbound/", include("cases.mail.urls")),  # customers' e-mail replies (docs/email.md)
    path("surveys/", include("surveys.urls")),
    path("alerts/", include("alerts.urls")),
    path("cases/", include("cases.urls")),
    path("", include("followup.urls")),
    path("customers/", include("customers.urls")),
    path("imports/", include("imports.urls")),
    path("reports/", include("reporting.urls")),
    path("plans/", include("improvement.urls")),
    path("settings/audit/", include("audit.urls")),
    path("settings/contact-policy/", include("contactpolicy.urls")),
    path("settings/segments/", include("segments.urls")),
    path("settings/account-rules/", include("customers.rule_urls")),
    path("settings/journeys/", include("journeys.urls")),
    path("settings/", include("organisation.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI is served from our own static files (SPECTACULAR_SETTINGS), so the site's strict
    # policy holds; the split view serves its initializer as a file (no inline script).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

# A path no route takes answers JSON under /api/ and the product's page elsewhere (core/api.py).
handler404 = "core.api.not_found"
