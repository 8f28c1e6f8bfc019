"""What the corner fuzzing (test_fuzz_corners.py) found, each fixed and held here with literal
requests; each test answered 500 before its fix."""

from __future__ import annotations

import pytest

from alerts.models import AlertRule
from surveys.models import Theme, WebhookSource
from tests.factories import api_key_for
from tests.security.data import make_customer_story

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("collection", ["sources", "themes"])
@pytest.mark.parametrize("method", ["get", "put", "patch"])
def test_a_nul_or_control_character_in_a_slug_is_a_404(api_client, personas, collection, method):
    """The slug went to PostgreSQL, which refuses a NUL in text: a DataError, a 500."""
    make_customer_story(personas.north)
    # A real token: a slug the route refuses is answered by the 404 handler, before any view
    # authenticates; it says 404 to a caller who brought credentials (401 to one who did not).
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.adam)}")
    for slug in ("typeform%00", "a%00b", "%1F", "type%0Aform"):
        response = getattr(api_client, method)(f"/api/v1/{collection}/{slug}/", {}, format="json")
        assert response.status_code == 404, (slug, response.content)
        assert response.json() == {"detail": "Not found."}
    assert list(WebhookSource.objects.values_list("slug", flat=True)) == ["typeform"]
    assert list(Theme.objects.values_list("slug", flat=True)) == []
    api_client.credentials()
    assert getattr(api_client, method)(f"/api/v1/{collection}/a%00b/", {}, format="json").status_code == 401


def test_an_unknown_api_path_answers_401_to_a_token_that_does_not_authenticate(api_client, client, personas):
    """A made-up token got the 404 of an unknown path and the 401 of a real one: a way to map which
    addresses exist without credentials. Now only a caller the API knows learns a path is unknown."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import ApiToken

    for header in ("Token cl_aaaaaaaa" + "b" * 43, "Token 1234", "Token two words", "Bearer abc"):
        api_client.credentials(HTTP_AUTHORIZATION=header)
        for path in ("/api/v1/no-such-thing/", "/api/v1/teams/north%00/", "/api/v1/cases/"):
            response = api_client.get(path)
            assert response.status_code == 401, (header, path, response.content)
            assert response["WWW-Authenticate"] == "Token"
    api_client.credentials(HTTP_AUTHORIZATION="Token cl_aaaaaaaa" + "b" * 43)
    assert api_client.get("/api/v1/no-such-thing/").json() == {"detail": "Invalid token."}

    key = api_key_for(personas.adam)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/v1/no-such-thing/").json() == {"detail": "Not found."}
    assert api_client.post("/api/v1/no-such-thing/", {}, format="json").status_code == 404
    ApiToken.objects.filter(user=personas.adam).update(expires_at=timezone.now() - timedelta(days=1))
    response = api_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("This token expired on ")

    api_client.credentials()
    assert api_client.get("/api/v1/no-such-thing/").json() == {
        "detail": "Authentication credentials were not provided."}
    client.force_login(personas.mia)  # a signed-in session, as the browsable pages call the API
    assert client.get("/api/v1/no-such-thing/").status_code == 404


def test_the_slug_routes_still_answer_a_real_slug(api_client, personas):
    make_customer_story(personas.north)
    api_client.force_authenticate(personas.adam)
    response = api_client.get("/api/v1/sources/typeform/")
    assert response.status_code == 200
    assert response.json()["slug"] == "typeform"


@pytest.mark.parametrize("name", ["overdue_for_min", "overdue_for_max"])
def test_an_overdue_age_past_a_century_is_refused_by_name(api_client, client, personas, name):
    """`?overdue_for_min=27000179111199164` made a timedelta too large for Python: a 500 on the
    cases API and on the inbox."""
    make_customer_story(personas.north, closed=False)
    api_client.force_authenticate(personas.mia)
    response = api_client.get(f"/api/v1/cases/?{name}=27000179111199164")
    assert response.status_code == 400
    assert response.json() == {name: ["Ensure this value is less than or equal to 876000."]}
    assert api_client.get(f"/api/v1/cases/?{name}=876000").status_code == 200

    client.force_login(personas.mia)
    page = client.get(f"/cases/?{name}=27000179111199164")
    assert page.status_code == 200
    assert "Ensure this value is less than or equal to 876000." in page.content.decode()


def test_a_nul_in_a_team_slug_is_a_404(api_client, personas):
    """`/api/v1/teams/<slug>/` looked the slug up as it came: a NUL was a DataError, a 500."""
    api_client.force_authenticate(personas.adam)
    for slug in ("north%00", "%00", "no%1Frth"):
        response = api_client.get(f"/api/v1/teams/{slug}/")
        assert response.status_code == 404, (slug, response.content)
        assert response.json() == {"detail": "Not found."}
    assert api_client.get("/api/v1/teams/north/").json()["name"] == "North"


def test_a_playbook_theme_filter_that_is_not_a_slug_is_refused_by_name(api_client, personas):
    """`/api/v1/playbooks/?theme=a%00b` filtered on the raw value: a DataError, a 500."""
    api_client.force_authenticate(personas.alice)
    response = api_client.get("/api/v1/playbooks/?theme=a%00b")
    assert response.status_code == 400
    assert response.json() == {"theme": ["Send a theme's slug (letters, digits, - and _)."]}
    assert api_client.get("/api/v1/playbooks/?theme=late-delivery").status_code == 200


def test_an_action_address_opened_in_the_browser_says_what_to_do(client, personas):
    """A case action's address (`/cases/<ref>/<action>/`) opened with GET answered an empty 405:
    a blank page."""
    story = make_customer_story(personas.north, closed=False)
    client.force_login(personas.alice)
    response = client.get(f"/cases/{story.case.reference}/claim/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.content.decode() == ("This address cannot be opened with GET. It takes POST: use the form or "
                                         "button on the page that leads here.")
    api = client.get("/api/v1/cases/bulk/")  # DRF's own 405 keeps its JSON
    assert api.status_code == 405 and api.json() == {"detail": 'Method "GET" not allowed.'}


@pytest.mark.parametrize("field", ["segments", "themes"])
def test_a_nul_in_an_alert_rules_slug_list_is_refused_by_name(api_client, personas, field):
    """`POST /api/v1/alert-rules/` with `segments: ["a\\u0000b"]` looked the slug up as it came:
    a DataError, a 500 (found by the stateful corner walk as an admin)."""
    api_client.force_authenticate(personas.adam)
    before = AlertRule.objects.count()
    response = api_client.post("/api/v1/alert-rules/", {"name": "NUL", field: ["a\x00b"]}, format="json")
    assert response.status_code == 400
    assert response.json()[field] == ["Object with slug=a\x00b does not exist."]
    assert AlertRule.objects.count() == before
