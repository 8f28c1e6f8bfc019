"""Each of the four languages walked through the product's pages with some data on them: the
settings pages, the alert rules and their backtest, the Connect pages, the reports, the
customers, the audit trail, the people and the profile. A page in Spanish, French or German
has no English sentence of the catalogue left on it (tests/i18n/leftovers.py); the inbox, the
case page, the e-mails and the public page are walked in test_languages.py."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from alerts.models import AlertRule
from surveys.services import source_create
from tests.cases.conftest import make_customer, make_response, open_case
from tests.i18n.leftovers import english_leftovers

LANGUAGES = ["es", "fr", "de"]
ADMIN_PAGES = [
    "/settings/", "/settings/teams/", "/settings/teams/new/", "/settings/teams/{north}/", "/settings/sla/",
    "/settings/sla/new/", "/settings/routing/", "/settings/routing/new/", "/settings/root-causes/",
    "/settings/notifications/", "/settings/users/", "/settings/users/invite/", "/settings/audit/",
    "/settings/two-factor/", "/alerts/", "/alerts/rules/new/", "/alerts/rules/{rule}/",
    "/alerts/rules/{rule}/backtest/", "/surveys/setup/", "/surveys/setup/new/generic/",
    "/surveys/setup/source/checkout/",
]
EVERYONE_PAGES = [
    "/reports/overdue/", "/reports/kpis/", "/reports/root-causes/", "/reports/scores/",
    "/reports/recovery/", "/reports/themes/", "/customers/", "/customers/{customer}/", "/customers/accounts/",
    "/recognition/", "/account/profile/", "/account/two-factor/", "/account/api-tokens/", "/cases/?view=overdue",
]


@pytest.fixture
def places(personas):
    """Ids the pages need, with a case, a customer, a rule and a connected source to show."""
    customer = make_customer(name="Dana Ruiz")  # not "...a customer0@...": a name, not English
    open_case(make_response(customer, nps=2))
    source_create(name="Checkout", slug="checkout", vendor="typeform", secret="s3cret-typeform")
    return {"north": personas.north.pk, "rule": AlertRule.objects.order_by("pk").first().pk, "customer": customer.pk}


def _without_rule_names(page: str) -> str:
    """Rule names are what people configured (the seeded ones in English, "Promoter praise (NPS 9–10
    with a comment)"): shown as written, like team and survey names (docs/languages.md)."""
    for name in AlertRule.objects.values_list("name", flat=True):
        page = page.replace(name, "").replace(escape(name), "")
    return page


def _walk(client, user, urls, places, language) -> dict[str, list[str]]:
    client.force_login(user)
    found = {}
    for url in urls:
        url = url.format(**places)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, (url, response.status_code)
        assert response["Content-Language"] == language, url
        if left := english_leftovers(_without_rule_names(response.content.decode()), language):
            found[url] = left
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_settings_and_set_up_pages_have_no_english_left(client, personas, places, language):
    assert _walk(client, personas.adam, ADMIN_PAGES, places, language) == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reports_customers_and_own_pages_have_no_english_left(client, personas, places, language):
    assert _walk(client, personas.adam, EVERYONE_PAGES, places, language) == {}
