"""Theme and sentiment filters on cases: the same FilterSet behind the inbox and the API, with no
per-row queries."""

from __future__ import annotations

import re

import pytest

from surveys.models import Theme
from tests.cases.text_helpers import make_open_case, make_theme, tag
from tests.factories import PASSWORD
from tests.inbox.helpers import make_response

pytestmark = pytest.mark.django_db

# Session, user, memberships, counts, the page, the filter panel's choices (teams, people, root
# causes, surveys, themes, segments: filters on, so the panel is open), the count of the cases that match
# (what a report's figure is checked by), the saved views and the bell's unread count (cases.context_processors,
# cold cache): the same for 1 row or 60. The bulk panel's choices load only when it is opened.
INBOX_QUERY_CEILING = 18  # with the two-factor check (device, policy cold)


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


@pytest.fixture
def themes():
    return {"delivery": make_theme("Delivery", ["parcel"]), "staff": make_theme("Staff", ["rude"])}


@pytest.fixture
def world(personas, themes):
    """Cases of North with comments about delivery, staff, both, nothing; one South case."""
    parcel = make_open_case(personas.north, comment="Parcel lost, awful", sentiment=-0.7)
    tag(parcel.response, themes["delivery"], "parcel")
    rude = make_open_case(personas.north, comment="Rude staff", sentiment=-0.5)
    tag(rude.response, themes["staff"], "rude")
    later = make_open_case(personas.north, comment="Fine I guess", sentiment=0.0)
    second = make_response(customer=later.customer, team=personas.north, comment="and the parcel was late")
    later.case_responses.create(response=second)
    tag(second, themes["delivery"], "parcel")  # about delivery through a later response
    happy = make_open_case(personas.north, comment="Lovely people, thank you", sentiment=0.8)
    silent = make_open_case(personas.north, comment="", sentiment=None)
    south = make_open_case(personas.south, comment="Parcel lost", sentiment=-0.6)
    tag(south.response, themes["delivery"], "parcel")
    return {"parcel": parcel, "rude": rude, "later": later, "happy": happy, "silent": silent, "south": south}


def inbox_refs(client, **params) -> set[str]:
    html = client.get("/cases/", {"view": "team", **params}).content.decode()
    return set(re.findall(r'href="/cases/([^/"]+)/"><strong>', html))


def api_refs(api_client, **params) -> set[str]:
    response = api_client.get("/api/v1/cases/", params)
    assert response.status_code == 200, response.content
    body = response.json()
    return {row["reference"] for row in (body["results"] if isinstance(body, dict) else body)}


def refs(world, *names) -> set[str]:
    return {world[name].reference for name in names}


def test_the_inbox_filters_by_theme_of_any_response(alice_client, world):
    assert inbox_refs(alice_client, theme="delivery") == refs(world, "parcel", "later")
    assert inbox_refs(alice_client, theme="staff") == refs(world, "rude")


def test_the_inbox_filters_by_sentiment(alice_client, world):
    assert inbox_refs(alice_client, sentiment="negative") == refs(world, "parcel", "rude")
    assert inbox_refs(alice_client, sentiment="neutral") == refs(world, "later")
    assert inbox_refs(alice_client, sentiment="positive") == refs(world, "happy")
    assert inbox_refs(alice_client, sentiment=["neutral", "positive"]) == refs(world, "later", "happy")


def test_the_thresholds_are_vaders_plus_or_minus_0_05(alice_client, personas, themes):
    edge_negative = make_open_case(personas.north, comment="meh", sentiment=-0.05)
    just_neutral = make_open_case(personas.north, comment="ok", sentiment=0.049)
    edge_positive = make_open_case(personas.north, comment="good", sentiment=0.05)
    assert inbox_refs(alice_client, sentiment="negative") == {edge_negative.reference}
    assert inbox_refs(alice_client, sentiment="neutral") == {just_neutral.reference}
    assert inbox_refs(alice_client, sentiment="positive") == {edge_positive.reference}


def test_theme_and_sentiment_combine(alice_client, world):
    assert inbox_refs(alice_client, theme="delivery", sentiment="negative") == refs(world, "parcel")


def test_the_filter_form_offers_themes_in_use_and_sentiments(alice_client, world, themes):
    make_theme("Parking", ["car park"], status=Theme.Status.PROPOSED)
    html = alice_client.get("/cases/filters/").content.decode()
    assert '<option value="delivery">Delivery</option>' in html
    assert "Any theme" in html and "Parking" not in html
    assert 'name="sentiment" value="negative"' in html and "Comment sentiment" in html


def test_an_unknown_theme_is_a_clear_400_in_the_api(api_client, personas, world):
    api_client.force_authenticate(personas.alice)
    response = api_client.get("/api/v1/cases/", {"theme": "no-such-theme"})
    assert response.status_code == 400
    assert "No theme with that slug" in str(response.json())
    assert api_client.get("/api/v1/cases/", {"sentiment": "furious"}).status_code == 400


def test_the_api_filters_the_same_way_and_only_visible_cases(api_client, personas, world):
    api_client.force_authenticate(personas.alice)
    assert api_refs(api_client, theme="delivery") == refs(world, "parcel", "later")
    assert api_refs(api_client, sentiment="positive") == refs(world, "happy")
    api_client.force_authenticate(personas.charlie)
    assert api_refs(api_client, theme="delivery") == refs(world, "south")


def test_the_api_shows_each_cases_sentiment(api_client, personas, world):
    api_client.force_authenticate(personas.alice)
    rows = api_client.get("/api/v1/cases/", {"sentiment": "negative"}).json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert sorted(row["response"]["sentiment"] for row in rows) == [-0.7, -0.5]


def test_a_retired_theme_still_finds_its_old_cases(alice_client, world, themes):
    Theme.objects.filter(pk=themes["staff"].pk).update(status=Theme.Status.RETIRED)
    assert inbox_refs(alice_client, theme="staff") == refs(world, "rude")


@pytest.mark.parametrize("n_cases", [1, 60])
def test_filtered_inbox_query_count_is_fixed(alice_client, personas, themes, django_assert_max_num_queries,
                                             n_cases):
    for i in range(n_cases):
        case = make_open_case(personas.north, comment="Parcel late", sentiment=-0.4)
        tag(case.response, themes["delivery"] if i % 2 == 0 else themes["staff"], "parcel")
    with django_assert_max_num_queries(INBOX_QUERY_CEILING):
        response = alice_client.get("/cases/", {"view": "team", "size": 100, "theme": "delivery",
                                                "sentiment": "negative"})
    assert len(re.findall(r'href="/cases/([^/"]+)/"><strong>', response.content.decode())) == (n_cases + 1) // 2


@pytest.mark.parametrize("n_cases", [1, 30])
def test_filtered_api_query_count_is_fixed(api_client, personas, themes, django_assert_max_num_queries, n_cases):
    from accounts.models import SlaPolicy

    api_client.force_authenticate(personas.alice)
    policy = SlaPolicy.objects.create(name="Standard", first_contact_hours=8, resolution_hours=40)
    for _ in range(n_cases):  # with an SLA policy, as real cases have (the list shows its name)
        case = make_open_case(personas.north, comment="Parcel late", sentiment=-0.4, sla_policy=policy)
        tag(case.response, themes["delivery"], "parcel")
    with django_assert_max_num_queries(8):
        response = api_client.get("/api/v1/cases/", {"theme": "delivery", "sentiment": "negative"})
    assert response.status_code == 200


def test_the_case_page_shows_sentiment_and_themes_with_the_matched_words_marked(alice_client, world):
    html = alice_client.get(f"/cases/{world['parcel'].reference}/").content.decode()
    assert '<blockquote class="comment-full"><mark>Parcel</mark> lost, awful</blockquote>' in html
    assert '<span class="badge sentiment-negative">Negative' in html
    assert 'href="/cases/?view=team&amp;theme=delivery">Delivery</a>' in html


def test_a_comment_without_themes_or_score_shows_no_tags(alice_client, personas):
    case = make_open_case(personas.north, comment="<b>Hello</b>", sentiment=None)
    html = alice_client.get(f"/cases/{case.reference}/").content.decode()
    assert "&lt;b&gt;Hello&lt;/b&gt;" in html  # still escaped
    assert 'class="comment-tags"' not in html
