"""Inbox columns: a fixed set of optional columns chosen in the address (?columns=), carried by
every link and form of the page, stored in saved views (page and API) and restored when one is
opened; unknown names are left out with a message on the page and refused by the API; choosing
columns adds no query."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from django.core.exceptions import ValidationError

from cases.columns import DEFAULT_COLUMNS, choose_columns, clean_columns
from cases.models import Case
from cases.saved_views.models import SavedView
from cases.saved_views.services import saved_view_create
from tests.factories import PASSWORD
from tests.inbox.helpers import make_case, make_customer
from tests.inbox.test_inbox import INBOX_QUERY_CEILING

INBOX = "/cases/"
API = "/api/v1/saved-views/"
UNKNOWN_COLOUR = ("Unknown column colour: use some of case, status, score, comment, customer, touchpoint, value, "
                  "owner, age, sla, due.")
EVERY = ["case", "status", "score", "comment", "customer", "touchpoint", "value", "owner", "age", "sla", "due"]


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


@pytest.fixture
def north_case(personas):
    """One open North case opened three days ago, due in 4 hours, worth 12,500, from Checkout in Leeds."""
    case = make_case(personas.north, customer=make_customer("Dana Whitfield"), comment="slow queue")
    Case.objects.filter(pk=case.pk).update(created_at=case.created_at - timedelta(days=3, hours=1))
    case.refresh_from_db()
    return case


def headers(html: str) -> list[tuple[str, str]]:
    """(class, text) of each column header after the checkbox's, in order."""
    thead = re.search(r"<thead>(.*?)</thead>", html, re.DOTALL).group(1)
    found = []
    for css, inner in re.findall(r'<th scope="col" class="([^"]*)"[^>]*>(.*?)</th>', thead, re.DOTALL):
        if "col-select" in css:
            continue
        text = re.sub(r'<span class="sr-only">.*?</span>', "", inner)
        found.append((css, re.sub(r"<[^>]+>", "", text).strip()))
    return found


def shown(html: str) -> list[str]:
    """The headers a desktop shows (not marked col-off)."""
    return [text for css, text in headers(html) if "col-off" not in css.split()]


def row_cells(html: str) -> dict[str, str]:
    """Column class -> the text of the first row's cell (tags stripped)."""
    row = re.search(r'<tr class="case-row[^"]*">(.*?)</tr>', html, re.DOTALL).group(1)
    return {css.split()[0]: " ".join(re.sub(r"<[^>]+>", " ", inner).split())
            for css, inner in re.findall(r'<td class="([^"]*)">(.*?)</td>', row, re.DOTALL)}


# --- choosing -----------------------------------------------------------------------------------


def test_choose_columns_reads_the_address():
    assert choose_columns({}).shown == DEFAULT_COLUMNS == ("case", "score", "comment", "customer", "owner", "sla")
    assert choose_columns({}).explicit is False
    choice = choose_columns({"columns": ["due", "age", "colour", "", "age", "case"]})
    assert (choice.shown, choice.explicit, choice.unknown) == (("case", "age", "due"), True, ("colour",))
    # Unticking everything still sends "case": a table of references, not the defaults.
    assert choose_columns({"columns": ["case"]}).shown == ("case",)


def test_clean_columns_orders_and_refuses_unknown_names():
    assert clean_columns(["due", "score", "score"]) == ["case", "score", "due"]
    with pytest.raises(ValidationError) as refused:
        clean_columns(["age", "colour"])
    assert refused.value.message_dict == {"columns": [UNKNOWN_COLOUR]}


def test_the_default_columns_without_the_parameter(alice_client, north_case):
    html = alice_client.get(INBOX, {"view": "team"}).content.decode()
    assert shown(html) == ["Case · Priority", "Score", "Comment", "Customer", "Team / owner", "SLA"]
    assert [css for css, _ in headers(html) if "col-off" in css] == []
    assert list(row_cells(html)) == ["col-select", "col-ref", "col-score", "col-comment", "col-customer",
                                     "col-owner", "col-sla"]
    assert 'name="columns" value="case" form="inbox-filters"' not in html  # nothing to carry


def test_every_column_shows_what_the_row_holds(alice_client, north_case):
    html = alice_client.get(INBOX, {"view": "team", "columns": EVERY}).content.decode()
    assert shown(html) == ["Case · Priority", "Status", "Score", "Comment", "Customer", "Touchpoint",
                           "Value at risk", "Team / owner", "Age", "SLA", "Due"]
    cells = row_cells(html)
    assert cells["col-status"] == "New"
    assert cells["col-touchpoint"] == "Checkout · Leeds"
    assert cells["col-value"] == "12,500"
    assert cells["col-age"] == "3 days"
    assert cells["col-owner"] == "North · Unassigned"
    assert re.fullmatch(r"✓ first contact due in 3 h 5\d min", cells["col-sla"])
    due = north_case.first_contact_due.astimezone(UTC).isoformat()
    assert f'<td class="col-due col-extra"><time datetime="{due}">' in html
    opened = north_case.created_at.astimezone(UTC).isoformat()
    assert f'<td class="col-age col-extra"><time datetime="{opened}">3 days</time>' in html


def test_a_choice_hides_card_columns_on_a_desktop_and_adds_the_chosen_ones(alice_client, north_case):
    html = alice_client.get(INBOX, {"view": "team", "columns": ["case", "age", "sla"]}).content.decode()
    assert shown(html) == ["Case · Priority", "Age", "SLA"]
    # The phone's card keeps its compact form: its cells are still there, marked for the desktop to hide.
    assert [text for css, text in headers(html) if "col-off" in css] == ["Score", "Comment", "Customer", "Team / owner"]
    assert list(row_cells(html)) == ["col-select", "col-ref", "col-score", "col-comment", "col-customer",
                                     "col-owner", "col-age", "col-sla"]
    assert '<td class="col-comment col-off">' in html
    # Only "case": every other column unticked.
    html = alice_client.get(INBOX, {"view": "team", "columns": "case"}).content.decode()
    assert shown(html) == ["Case · Priority"]


def test_an_unknown_column_is_left_out_with_a_message(alice_client, north_case):
    response = alice_client.get(INBOX, {"view": "team", "columns": ["case", "colour", "age", "<b>"]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "There are no columns “colour”, “&lt;b&gt;”: they were left out." in html
    assert '<details class="column-chooser" open>' in html
    assert shown(html) == ["Case · Priority", "Age"]
    response = alice_client.get(INBOX, {"view": "team", "columns": "colour"})
    assert "There is no column “colour”: it was left out." in response.content.decode()
    assert shown(response.content.decode()) == ["Case · Priority"]


def test_the_choice_travels_with_every_link_and_form(alice_client, north_case):
    html = alice_client.get(INBOX, {"view": "team", "sort": "newest", "columns": ["age", "case"]}).content.decode()
    # The chooser: a plain GET form carrying the other parameters, "case" always sent, the panel kept open.
    chooser = re.search(r'<details class="column-chooser">(.*?)</details>', html, re.DOTALL).group(1)
    assert '<form method="get" action="/cases/"' in chooser
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', chooser)
    assert hidden == [("view", "team"), ("sort", "newest"), ("panel", "columns"), ("columns", "case")]
    assert re.findall(r'<input type="checkbox" name="columns" value="(\w+)" checked>', chooser) == ["age"]
    assert 'href="/cases/?view=team&amp;sort=newest"' in chooser  # back to the usual columns
    # The filter form carries the choice; "Clear filters" keeps it; tabs and headers keep it.
    assert re.findall(r'<input type="hidden" name="columns" value="(\w+)" form="inbox-filters">', html) == ["case", "age"]
    assert 'id="clear-filters" href="/cases/?view=team&amp;columns=case&amp;columns=age"' in html
    assert 'href="/cases/?view=overdue&amp;sort=newest&amp;columns=age&amp;columns=case"' in html
    assert 'href="/cases/?view=team&amp;sort=oldest&amp;columns=age&amp;columns=case"' in html


def test_the_chooser_stays_open_after_a_choice(alice_client, north_case):
    html = alice_client.get(INBOX, {"view": "team", "panel": "columns", "columns": ["case", "due"]},
                            headers={"HX-Request": "true"}).content.decode()
    assert '<details class="column-chooser" open>' in html
    assert 'id="clear-filters" href="/cases/?view=team&amp;columns=case&amp;columns=due" hx-swap-oob="true"' in html


@pytest.mark.parametrize("n_cases", [1, 60])
def test_every_column_fits_the_inbox_query_budget(alice_client, personas, django_assert_max_num_queries, n_cases):
    for i in range(n_cases):
        make_case(personas.north, assignee=personas.bob if i % 2 else None)
    with django_assert_max_num_queries(INBOX_QUERY_CEILING):
        response = alice_client.get(INBOX, {"view": "team", "size": 100, "columns": EVERY})
    assert len(re.findall(r'<td class="col-due col-extra">', response.content.decode())) == n_cases


# --- saved views --------------------------------------------------------------------------------


def test_a_saved_view_keeps_its_columns_and_restores_them(alice_client, personas, north_case):
    response = alice_client.post("/cases/saved-views/", {
        "name": "Ageing", "query": "view=team&panel=columns&columns=case&columns=age&columns=score&after=x"})
    assert response.status_code == 302
    assert response["Location"] == "/cases/?columns=case&columns=score&columns=age&view=team"
    assert SavedView.objects.get(owner=personas.alice).params == {"columns": ["case", "score", "age"], "view": ["team"]}

    # Opened from the bar (elsewhere, with other columns): the link restores its columns.
    html = alice_client.get(INBOX, {"view": "mine", "columns": "due"}).content.decode()
    link = re.search(r'<a href="([^"]+)"[^>]*data-saved-view="\d+">Ageing', html).group(1).replace("&amp;", "&")
    html = alice_client.get(link).content.decode()
    assert shown(html) == ["Case · Priority", "Score", "Age"]
    assert 'aria-current="true">Ageing' in html


def test_a_view_saved_with_the_usual_columns_is_current_without_the_parameter(alice_client, personas, north_case):
    saved_view_create(owner=personas.alice, name="Team", params={"view": "team", "columns": list(DEFAULT_COLUMNS)})
    saved_view_create(owner=personas.alice, name="Team, ages", params={"view": "team", "columns": ["age"]})
    html = alice_client.get(INBOX, {"view": "team"}).content.decode()
    assert re.findall(r'aria-current="true">([^<]+) <span', html) == ["Team"]
    html = alice_client.get(INBOX, {"view": "team", "columns": ["age", "case"]}).content.decode()
    assert re.findall(r'aria-current="true">([^<]+) <span', html) == ["Team, ages"]


def test_the_page_refuses_to_save_an_unknown_column(alice_client, personas):
    response = alice_client.post("/cases/saved-views/", {"name": "Bad", "query": "view=team&columns=colour"})
    assert response.status_code == 422
    assert "Unknown column colour: use some of case, status," in response.content.decode()
    assert not SavedView.objects.exists()


def test_the_api_stores_columns_and_refuses_unknown_ones(api_client, personas, north_case):
    api_client.force_authenticate(personas.alice)
    response = api_client.post(API, {"name": "Due", "params": {"view": "team", "columns": "due"}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["params"] == {"columns": ["case", "due"], "view": ["team"]}
    assert body["inbox_url"] == "/cases/?columns=case&columns=due&view=team"
    assert SavedView.objects.get(pk=body["id"]).params == {"columns": ["case", "due"], "view": ["team"]}

    response = api_client.patch(f"{API}{body['id']}/", {"params": {"view": "team", "columns": ["value", "colour"]}},
                                format="json")
    assert response.status_code == 400
    assert response.json() == {"columns": [UNKNOWN_COLOUR]}
    response = api_client.patch(f"{API}{body['id']}/", {"params": {"columns": [["age"]]}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"columns": ["Give a text value or a list of text values."]}
    assert SavedView.objects.get(pk=body["id"]).params == {"columns": ["case", "due"], "view": ["team"]}
