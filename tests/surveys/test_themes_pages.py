"""The Themes pages: admins only, volumes, the editor with its preview, decisions on proposals,
retiring, and discovery on demand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import ResponseTheme, Theme
from surveys.services import theme_create
from tests.factories import PASSWORD
from tests.surveys.test_text import _corpus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def _response(comment: str, days_ago: int = 1):
    from tests.alerts.helpers import response

    return response(nps=4, comment=comment, answered_at=timezone.now() - timedelta(days=days_ago))


@pytest.fixture
def proposal():
    return Theme.objects.create(name="Parking / car park", slug="parking-car-park", keywords=["parking", "car park"],
                                status=Theme.Status.PROPOSED, origin=Theme.Origin.DISCOVERED,
                                examples=["No parking near the store"])


@pytest.mark.parametrize("who", ["alice", "mia"])
@pytest.mark.parametrize("name, method", [
    ("surveys:theme_list", "get"), ("surveys:theme_create", "get"), ("surveys:theme_preview", "post"),
    ("surveys:theme_discover", "post"),
])
def test_the_pages_do_not_exist_for_agents_and_managers(client, personas, who, name, method):
    login(client, getattr(personas, who))
    assert getattr(client, method)(reverse(name)).status_code == 404


def test_deciding_is_refused_to_an_agent(client, personas, proposal):
    login(client, personas.alice)
    assert client.post(reverse("surveys:theme_decide", args=[proposal.pk, "accept"])).status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == "proposed"


def test_anonymous_is_sent_to_login(client):
    answer = client.get(reverse("surveys:theme_list"))
    assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_the_list_shows_each_status_with_the_volume_of_the_last_30_days(client, personas, proposal):
    theme = theme_create(name="Delivery delays", keywords=["courier"])
    for days_ago in (1, 2, 45):
        response = _response("the courier", days_ago=days_ago)
        ResponseTheme.objects.create(response=response, theme=theme, matches=["courier"],
                                     answered_at=response.answered_at)
    theme_create(name="Old theme", keywords=["old"], status=Theme.Status.RETIRED)
    login(client, personas.adam)
    page = client.get(reverse("surveys:theme_list")).content.decode()
    row = page[page.index(f'id="theme-{theme.pk}"'):]
    assert "<td>2</td>" in row[:row.index("</tr>")]
    assert "Parking / car park" in page and "No parking near the store" in page and "Old theme" in page


def test_the_editor_creates_a_theme_and_says_what_is_wrong(client, personas):
    login(client, personas.adam)
    answer = client.post(reverse("surveys:theme_create"), {"name": "", "keywords": "  \n"})
    assert answer.status_code == 422
    assert "Give the theme a name" in answer.content.decode()
    assert "Give at least one keyword" in answer.content.decode()
    answer = client.post(reverse("surveys:theme_create"),
                         {"name": "Delivery delays", "keywords": "courier\nLate delivery\ncourier, parcel"})
    assert answer.status_code == 302
    theme = Theme.objects.get(name="Delivery delays")
    assert (theme.keywords, theme.status, theme.origin, theme.slug) == (
        ["courier", "Late delivery", "parcel"], "active", "admin", "delivery-delays")
    answer = client.post(reverse("surveys:theme_create"), {"name": "delivery DELAYS", "keywords": "x"})
    assert answer.status_code == 422 and "already exists" in answer.content.decode()


def test_editing_keeps_the_slug_and_retags(client, personas, django_capture_on_commit_callbacks):
    theme = theme_create(name="Delivery delays", keywords=["courier"])
    response = _response("The parcel never came")
    login(client, personas.adam)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("surveys:theme_edit", args=[theme.pk]),
                             {"name": "Deliveries", "keywords": "courier\nparcel"})
    assert answer.status_code == 302
    theme.refresh_from_db()
    assert (theme.name, theme.slug) == ("Deliveries", "delivery-delays")
    assert list(response.theme_links.values_list("matches", flat=True)) == [["parcel"]]


def test_the_preview_highlights_the_recent_comments_a_draft_matches(client, personas):
    _response("The <b>courier</b> was late")
    _response("All fine")
    login(client, personas.adam)
    answer = client.post(reverse("surveys:theme_preview"), {"name": "x", "keywords": "Courier"})
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "1 of the last 2 comments match" in html
    assert "The &lt;b&gt;<mark>courier</mark>&lt;/b&gt; was late" in html


def test_accepting_under_a_new_name_and_rejecting(client, personas, proposal):
    other = Theme.objects.create(name="Wifi / lounge", slug="wifi-lounge", keywords=["wifi", "lounge"],
                                 status=Theme.Status.PROPOSED, origin=Theme.Origin.DISCOVERED)
    login(client, personas.adam)
    answer = client.post(reverse("surveys:theme_decide", args=[proposal.pk, "accept"]), {"name": "Parking"})
    assert answer.status_code == 302
    client.post(reverse("surveys:theme_decide", args=[other.pk, "reject"]))
    proposal.refresh_from_db()
    other.refresh_from_db()
    assert (proposal.status, proposal.name, proposal.slug, proposal.decided_by) == (
        "active", "Parking", "parking", personas.adam)
    assert other.status == "rejected"


def test_a_decision_that_does_not_apply_is_explained(client, personas, proposal):
    login(client, personas.adam)
    answer = client.post(reverse("surveys:theme_decide", args=[proposal.pk, "retire"]), follow=True)
    assert "is proposed; only active themes can be retired" in answer.content.decode()
    assert client.post(reverse("surveys:theme_decide", args=[proposal.pk, "explode"])).status_code == 404


def test_retire_and_reactivate(client, personas):
    theme = theme_create(name="Delivery delays", keywords=["courier"])
    login(client, personas.adam)
    client.post(reverse("surveys:theme_decide", args=[theme.pk, "retire"]))
    theme.refresh_from_db()
    assert theme.status == "retired"
    client.post(reverse("surveys:theme_decide", args=[theme.pk, "reactivate"]))
    theme.refresh_from_db()
    assert theme.status == "active"


def test_discover_now_runs_discovery_and_the_proposals_appear(client, personas):
    for comment in _corpus():
        _response(comment)
    login(client, personas.adam)
    answer = client.post(reverse("surveys:theme_discover"), follow=True)
    assert answer.status_code == 200 and "Discovery is running" in answer.content.decode()
    proposed = Theme.objects.filter(status="proposed")
    assert proposed.exists()
    assert proposed.first().name in answer.content.decode()


def test_the_editor_opens_with_the_theme_and_a_preview_of_its_matches(client, personas):
    theme = theme_create(name="Delivery delays", keywords=["courier", "late delivery"])
    _response("The courier was late")
    login(client, personas.adam)
    page = client.get(reverse("surveys:theme_edit", args=[theme.pk])).content.decode()
    assert "courier\nlate delivery</textarea>" in page
    assert "The <mark>courier</mark> was late" in page
    assert client.get(reverse("surveys:theme_create")).status_code == 200
