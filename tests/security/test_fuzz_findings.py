"""What the corner fuzzing (test_fuzz_corners.py) found, each fixed and held here with literal
requests; each test answered 500 before its fix."""

from __future__ import annotations

import pytest

from surveys.models import Theme, WebhookSource
from tests.security.data import make_customer_story

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("collection", ["sources", "themes"])
@pytest.mark.parametrize("method", ["get", "put", "patch"])
def test_a_nul_or_control_character_in_a_slug_is_a_404(api_client, personas, collection, method):
    """The slug went to PostgreSQL, which refuses a NUL in text: a DataError, a 500."""
    make_customer_story(personas.north)
    api_client.force_authenticate(personas.adam)
    for slug in ("typeform%00", "a%00b", "%1F", "type%0Aform"):
        response = getattr(api_client, method)(f"/api/v1/{collection}/{slug}/", {}, format="json")
        assert response.status_code == 404, (slug, response.content)
        assert response.json() == {"detail": "Not found."}
    assert list(WebhookSource.objects.values_list("slug", flat=True)) == ["typeform"]
    assert list(Theme.objects.values_list("slug", flat=True)) == []


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
