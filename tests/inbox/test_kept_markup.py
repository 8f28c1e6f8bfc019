"""Markup kept per process (issue #25 item 3): the inbox's rows (cases.rows.page_rows_html) and the
case page's timeline entries (cases.timeline_rows.render_timeline). Each is keyed on every value it
prints, with the clock's parts filled in on every view; these tests hold that a kept row or entry
is what a fresh render writes (at another moment, in another language and zone, with every
column), and that a rename or an erasure is never shown stale."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict
from django.utils import timezone, translation

from cases import keyset, rows, timeline_rows
from cases.columns import choose_columns
from cases.filtersets import inbox_filterset
from cases.models import Case, CaseEvent
from cases.rows import inbox_rows, page_rows_html, render_rows
from cases.selectors import case_events
from cases.services import case_add_note, case_claim
from cases.views.inbox_lists import row_fields, row_queryset
from core.lean import lean_instances
from privacy.services import customer_erase
from surveys.models import Customer
from tests.factories import PASSWORD
from tests.inbox.helpers import make_case, make_customer, open_case, root_causes

EVERY_COLUMN = QueryDict("&".join(f"columns={key}" for key in (
    "case", "status", "score", "comment", "customer", "touchpoint", "value", "owner", "age", "sla", "due")))
COLUMN_CHOICES = (QueryDict(), EVERY_COLUMN, QueryDict("columns=case&columns=age&columns=sla"))


@pytest.fixture(autouse=True)
def _empty_kept(db):
    rows.forget_rows()
    timeline_rows.forget_entries()
    yield
    rows.forget_rows()
    timeline_rows.forget_entries()


def _values(user, query: str = "view=team") -> list[dict]:
    queryset = row_queryset(inbox_filterset(user, QueryDict(query)))
    return keyset.paginate(queryset, size=50).rows


def _fresh(values: list[dict], now, columns) -> str:
    return str(render_rows(inbox_rows(lean_instances(Case, values, row_fields()), now, columns), columns))


def _kept_count() -> int:
    return len(rows._store.get())


def _cases(personas):
    make_case(personas.north, assignee=personas.alice,
              customer=make_customer(name='<b>Ann</b> & "Co"', email="ann@example.com"),
              comment="<script>alert(1)</script>\nsecond line", priority="urgent")
    no_customer = make_case(personas.north, comment="")
    Case.objects.filter(pk=no_customer.pk).update(customer=None, alert=None)
    overdue = make_case(personas.north, assignee=personas.bob)
    Case.objects.filter(pk=overdue.pk).update(first_contact_due=timezone.now() - dt.timedelta(hours=3),
                                              resolution_due=timezone.now() + dt.timedelta(hours=30))
    closed = make_case(personas.north, assignee=personas.alice)
    cause = next(iter(root_causes().values()))
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED, closed_at=timezone.now(), root_cause=cause,
                                             outcome=Case.Outcome.RESOLVED, resolution="Refund sent")
    soon = make_case(personas.north)
    Case.objects.filter(pk=soon.pk).update(first_contacted_at=timezone.now(),
                                           resolution_due=timezone.now() + dt.timedelta(minutes=50))


@pytest.mark.parametrize("language, zone", [("en", "UTC"), ("de", "Europe/Berlin"), ("fr", "America/New_York")])
def test_kept_rows_are_what_a_fresh_render_writes_at_any_moment(personas, language, zone):
    _cases(personas)
    values = _values(personas.alice, "view=team") + _values(personas.alice, "view=recently_closed")
    assert len(values) == 5 and {value["status"] for value in values} >= {"new", "closed"}
    with translation.override(language), timezone.override(zone):
        for query in COLUMN_CHOICES:
            columns = choose_columns(query)
            now = timezone.now()
            first = str(page_rows_html(values, row_fields(), now, columns))  # kept now
            assert first == _fresh(values, now, columns)
            # Later: the SLA words, levels, the age and which clock is due move with the clock
            # alone; the kept rows give the later page, not the first one.
            for later in (now + dt.timedelta(minutes=20), now + dt.timedelta(hours=2), now + dt.timedelta(days=3)):
                again = str(page_rows_html(values, row_fields(), later, columns))
                assert again == _fresh(values, later, columns)
    assert _kept_count() == 5 * len(COLUMN_CHOICES)


def test_the_level_moves_with_the_clock_in_a_kept_row(personas):
    case = make_case(personas.north, assignee=personas.alice)
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(first_contacted_at=now, resolution_due=now + dt.timedelta(hours=3))
    values = _values(personas.alice)
    columns = choose_columns(QueryDict())
    html = str(page_rows_html(values, row_fields(), now, columns))
    assert "level-ok" in html and "due in 3 h" in html
    html = str(page_rows_html(values, row_fields(), now + dt.timedelta(hours=2, minutes=30), columns))
    assert "level-due_soon" in html and "due in 30 min" in html and "level-ok" not in html
    html = str(page_rows_html(values, row_fields(), now + dt.timedelta(hours=5), columns))
    assert "level-overdue" in html and "overdue by 2 h" in html and "⚠" in html


def test_a_row_is_kept_per_language_zone_and_columns(personas):
    make_case(personas.north, assignee=personas.alice)
    values = _values(personas.alice)
    now = timezone.now()
    for language in ("en", "de"):
        for zone in ("UTC", "Asia/Tokyo"):
            with translation.override(language), timezone.override(zone):
                for query in COLUMN_CHOICES:
                    columns = choose_columns(query)
                    assert str(page_rows_html(values, row_fields(), now, columns)) == _fresh(values, now, columns)
    assert _kept_count() == 2 * 2 * len(COLUMN_CHOICES)


def test_a_value_holding_the_hole_mark_is_rendered_whole(personas):
    make_case(personas.north, assignee=personas.alice, customer=make_customer(name="Nul"))
    (value,) = _values(personas.alice)
    value = {**value, "customer__name": "A\x00S\x00B"}  # SQLite's text may hold NUL; PostgreSQL's cannot
    now, columns = timezone.now(), choose_columns(EVERY_COLUMN)
    assert str(page_rows_html([value], row_fields(), now, columns)) == _fresh([value], now, columns)
    assert str(page_rows_html([value], row_fields(), now, columns)) == _fresh([value], now, columns)


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


def test_a_renamed_customer_team_or_person_shows_at_once(alice_client, personas):
    case = make_case(personas.north, assignee=personas.alice, customer=make_customer(name="Dana Whitfield"))
    for url in ("/cases/", "/cases/?view=team", f"/cases/{case.reference}/"):
        assert "Dana Whitfield" in alice_client.get(url).content.decode()
    Customer.objects.filter(pk=case.customer_id).update(name="Dana Okafor")  # no case version moves
    personas.alice.__class__.objects.filter(pk=personas.alice.pk).update(first_name="Alicia", last_name="Stone")
    personas.north.__class__.objects.filter(pk=personas.north.pk).update(name="Northern Lights")
    for url in ("/cases/", "/cases/?view=team"):
        page = alice_client.get(url).content.decode()
        assert "Dana Okafor" in page and "Dana Whitfield" not in page
        assert "Alicia Stone" in page and "Northern Lights" in page


def test_an_erased_customer_is_never_shown_and_not_kept(alice_client, personas):
    case = make_case(personas.north, assignee=personas.alice,
                     customer=make_customer(name="Dana Whitfield", email="dana@example.com"),
                     comment="Dana here, call me on 0113 496 0000")
    case_add_note(case_id=case.pk, by=personas.alice, note="Spoke to Dana Whitfield on 0113 496 0000")
    for url in ("/cases/", f"/cases/{case.reference}/"):
        assert "Dana Whitfield" in alice_client.get(url).content.decode()
    assert _kept_count() >= 1 and timeline_rows._kept.get()

    customer_erase(customer_id=case.customer_id)

    kept = list(rows._store.get().values()) + list(timeline_rows._kept.get().values())
    assert not any("Dana" in "".join(part or "" for part in (entry if isinstance(entry, tuple) else (entry,)))
                   for entry in kept)
    for url in ("/cases/", "/cases/?view=team", f"/cases/{case.reference}/"):
        page = alice_client.get(url).content.decode()
        assert "Dana Whitfield" not in page and "0113 496 0000" not in page and "dana@example.com" not in page


def test_kept_timeline_entries_are_what_a_fresh_render_writes(personas):
    case = open_case(personas.north)
    case = case_claim(case_id=case.pk, by=personas.bob)
    case = case_add_note(case_id=case.pk, by=personas.alice, note="<b>Called</b>\ntwice")
    events = case_events(case)
    assert len(events) >= 3
    for language, zone in (("en", "UTC"), ("de", "Europe/Berlin"), ("en", "Asia/Tokyo")):
        with translation.override(language), timezone.override(zone):
            fresh = str(timeline_rows._render(events))
            assert str(timeline_rows.render_timeline(events)) == fresh  # kept now
            assert str(timeline_rows.render_timeline(case_events(case))) == fresh  # from the kept entries
    assert len(timeline_rows._kept.get()) == 3 * len(events)
    html = str(timeline_rows.render_timeline(events))
    assert "&lt;b&gt;Called&lt;/b&gt;<br>twice" in html


def test_events_not_read_whole_are_rendered_as_before(personas):
    case = open_case(personas.north)
    case = case_add_note(case_id=case.pk, by=personas.alice, note="deferred")
    events = list(CaseEvent.objects.filter(case=case).select_related("actor").defer("note").order_by("-created_at", "-id"))
    assert str(timeline_rows.render_timeline(events)) == str(timeline_rows._render(events))
    assert not timeline_rows._kept.get()  # nothing kept for a row whose columns were not all read


def test_a_renamed_actor_shows_at_once_in_the_timeline(alice_client, personas):
    case = open_case(personas.north)
    case = case_claim(case_id=case.pk, by=personas.alice)
    url = f"/cases/{case.reference}/"
    assert f"{personas.alice.display_name} claimed this case" in alice_client.get(url).content.decode()
    personas.alice.__class__.objects.filter(pk=personas.alice.pk).update(first_name="Alicia", last_name="Stone")
    page = alice_client.get(url).content.decode()
    assert "Alicia Stone claimed this case" in page
    # A new event is a new entry; the earlier ones are kept and still right.
    case = case_add_note(case_id=case.pk, by=personas.alice, note="second")
    events = case_events(case)
    assert str(timeline_rows.render_timeline(events)) == str(timeline_rows._render(events))
    assert CaseEvent.objects.filter(case=case).count() == len(events)


def test_catalogues_remember_their_answers_in_each_language():
    from django.utils.translation import gettext

    for language, expected in (("de", "Hier gibt es keine Fälle."), ("en", "No cases here.")):
        with translation.override(language):
            first, second = gettext("No cases here."), gettext("No cases here.")
        assert first == second == expected
    with translation.override("de"):
        german = gettext("No cases here.")
    assert german != "No cases here."  # the memo is per language's catalogue, not shared
    active = translation.trans_real.translation("de")
    assert "No cases here." in active.__dict__.get("_memo", {})


def test_json_as_sent_makes_the_markup_of_json_decoded(personas):
    """The compiled list queries hand the rows' JSON over as the database sent it
    (core.compiled.Raw): decoded only for a row not kept, and the same markup either way."""
    import json

    from core.compiled import Raw

    make_case(personas.north, assignee=personas.alice, response_extra={"scores": {"nps": 3, "effort": 'a "b" <c>'}})
    (value,) = _values(personas.alice)
    assert isinstance(value["response__scores"], dict)
    sent = {**value, "response__scores": Raw(json.dumps(value["response__scores"]))}
    now, columns = timezone.now(), choose_columns(EVERY_COLUMN)
    fresh = _fresh([value], now, columns)
    assert str(page_rows_html([sent], row_fields(), now, columns)) == fresh  # made from the text
    assert str(page_rows_html([sent], row_fields(), now, columns)) == fresh  # kept
    assert str(page_rows_html([value], row_fields(), now, columns)) == fresh
