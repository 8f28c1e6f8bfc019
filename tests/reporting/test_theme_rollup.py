"""The theme rollup (reporting.ThemeRollup, kept by database triggers on the theme tags and on the
responses): the themes page, its API reports and CSVs give from it the figures a direct query over
the tags and their responses gives, on hand-counted data and after every write the triggers follow
(a tag added, removed or moved, a response rescored, moved or deleted, a theme retired or deleted);
folded, rebuilt and built by its migration without changing a figure."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.db import connection

from reporting import selectors, theme_rollup
from reporting.models import ThemeRollup, ThemeTotal
from reporting.selectors import themes as theme_selectors
from surveys.models import ResponseTheme, SurveyResponse, Theme
from tests.factories import ResponseThemeFactory
from tests.reporting import builders_text as t
from tests.reporting.test_kpis import FRI, MON, TUE, scope
from tests.reporting.test_pages import csv_rows, page_tables
from tests.reporting.test_themes import MARCH, talk  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

TABLES = (selectors.themes_volume, selectors.themes_weekly, selectors.themes_scores, selectors.themes_by_touchpoint)


@pytest.fixture(autouse=True)
def _fresh_cells():
    """Each reading sees the rows as they are now: the kept cells are per request (a request's
    filters carry its moment), and these tests read the same filters again after writing."""
    clear()
    yield
    clear()


def clear():
    theme_selectors._theme_cells.cache_clear()
    theme_selectors._every_response.cache_clear()


def figures(filters) -> list:
    """Each table's rows, links (less the location, which only the direct reading was given) and columns."""
    clear()

    def unlocated(links: dict) -> dict:
        return {k: v.replace("location=Leeds&", "").replace("&location=Leeds", "") for k, v in links.items()}

    return [(table.rows, [unlocated(links) for links in table.links], [c.label for c in table.columns])
            for table in (build(filters) for build in TABLES)]


def from_rollup(team, **extra):
    filters = scope(team, **extra)
    assert theme_selectors.rollup_rows(filters, ThemeRollup.objects) is not None  # the rollup answers these filters
    return figures(filters)


def direct(team, **extra):
    """The same filters narrowed by location, which every builder response has and the rollup does
    not key: the same sums from the tags joined to their responses (themes._tag_cells)."""
    filters = scope(team, location="Leeds", **extra)
    assert theme_selectors.rollup_rows(filters, ThemeRollup.objects) is None
    return figures(filters)


def volume(team) -> list[tuple]:
    clear()
    return [(r["theme"], r["responses"], r["share"], r["positive_pct"], r["negative_pct"], r["sentiment"],
             r["open_cases"]) for r in selectors.themes_volume(scope(team)).rows]


def scores(team) -> dict[str, tuple]:
    clear()
    return {r["theme"]: (r["responses"], r["nps_n"], r["nps"], r["sentiment"])
            for r in selectors.themes_scores(scope(team)).rows}


def totals() -> dict[tuple, tuple]:
    """The theme totals (reporting.ThemeTotal) summed per key, the keys whose tags are all gone left out."""
    sums: dict[tuple, list] = {}
    for row in ThemeTotal.objects.all():
        key = tuple(getattr(row, k) for k in theme_rollup.TOTALS.key)
        counts = [getattr(row, c) for c in theme_rollup.COUNTS]
        sums[key] = [a + b for a, b in zip(sums[key], counts)] if key in sums else counts
    return {key: tuple(round(v, 9) for v in counts) for key, counts in sums.items() if counts[0]}


def totals_recomputed() -> dict[tuple, tuple]:
    """The same, computed from the tags and their responses now (what rebuild() writes)."""
    level = theme_rollup.TOTALS
    with connection.cursor() as cursor:
        cursor.execute(level._aggregate(level._signed(1, "surveys_responsetheme t JOIN surveys_surveyresponse r "
                                                         "ON r.id = t.response_id")))
        found = cursor.fetchall()
    width = len(level.key)
    day = theme_rollup.TOTALS.key.index("day")
    rows = {}
    for row in found:
        key = tuple(dt.date.fromisoformat(v) if i == day and isinstance(v, str) else v for i, v in enumerate(row[:width]))
        rows[key] = tuple(round(v, 9) for v in row[width:width + len(theme_rollup.COUNTS)])
    return {key: counts for key, counts in rows.items() if counts[0]}


def assert_same_as_direct(personas):
    assert totals() == totals_recomputed()  # the every-team totals kept by their triggers too
    for team in (personas.north, personas.south):
        assert from_rollup(team) == direct(team)
        assert from_rollup(team, touchpoint="Store") == direct(team, touchpoint="Store")
    every = scope(personas.north)
    both = type(every)(team_ids=None, start=every.start, end=every.end, now=every.now)
    assert figures(both) == figures(type(every)(team_ids=None, start=every.start, end=every.end, now=every.now,
                                                location="Leeds"))


def test_the_rollup_is_written_by_the_triggers_and_gives_the_direct_figures(talk):  # noqa: F811
    assert ThemeRollup.objects.filter(fresh=True).exists()
    assert volume(talk.north) == [("Rude staff", 3, 60.0, 50.0, 50.0, 15.0, 1),
                                  ("Delivery delays", 2, 40.0, 50.0, 50.0, -5.0, 1)]
    assert scores(talk.north) == {"Rude staff": (3, 3, -33.3, 15.0), "Delivery delays": (2, 2, 0.0, -5.0),
                                  "All responses": (6, 6, -16.7, 12.5)}
    assert_same_as_direct(talk)


def test_the_survey_filter_reads_the_rollup(talk):  # noqa: F811
    survey = SurveyResponse.objects.filter(team=talk.north).first().survey_id
    assert from_rollup(talk.north, survey_id=survey) == direct(talk.north, survey_id=survey)


def test_a_tag_added_and_removed(talk):  # noqa: F811
    r5 = SurveyResponse.objects.get(team=talk.north, nps=10)  # "Lovely.": about no theme yet
    ResponseThemeFactory(response=r5, theme=talk.delivery, answered_at=r5.answered_at)
    assert volume(talk.north)[:2] == [("Delivery delays", 3, 60.0, 66.7, 33.3, 23.3, 1),  # (-0.6 + 0.5 + 0.8) / 3
                                      ("Rude staff", 3, 60.0, 50.0, 50.0, 15.0, 1)]
    ResponseTheme.objects.filter(theme=talk.staff, response__nps=1).delete()
    assert volume(talk.north)[1] == ("Rude staff", 2, 40.0, 50.0, 50.0, 15.0, 1)
    assert_same_as_direct(talk)


def test_a_comment_written_or_erased_changes_the_share(talk):  # noqa: F811
    r6 = SurveyResponse.objects.get(team=talk.north, nps=7)  # no comment
    SurveyResponse.objects.filter(pk=r6.pk).update(comment="Fine.", sentiment=0.1)
    assert [r[:3] for r in volume(talk.north)] == [("Rude staff", 3, 50.0), ("Delivery delays", 2, 33.3)]  # of 6
    assert scores(talk.north)["All responses"] == (6, 6, -16.7, 12.0)  # (-0.6 + 0.5 - 0.2 + 0.8 + 0.1) / 5
    assert_same_as_direct(talk)
    SurveyResponse.objects.filter(team=talk.north, nps=10).update(comment="", sentiment=None)
    assert [r[:3] for r in volume(talk.north)] == [("Rude staff", 3, 60.0), ("Delivery delays", 2, 40.0)]
    assert scores(talk.north)["All responses"] == (6, 6, -16.7, -5.0)  # (-0.6 + 0.5 - 0.2 + 0.1) / 4
    assert_same_as_direct(talk)


def test_matched_words_change_no_count(talk):  # noqa: F811
    before = ThemeRollup.objects.count()
    ResponseTheme.objects.filter(theme=talk.staff).update(matches=["rude"])
    assert ThemeRollup.objects.count() == before


def test_a_tag_moved_to_another_theme_or_day(talk):  # noqa: F811
    r1 = ResponseTheme.objects.get(theme=talk.delivery, response__nps=2)
    ResponseTheme.objects.filter(pk=r1.pk).update(theme=talk.staff)
    assert volume(talk.north)[0] == ("Rude staff", 4, 80.0, 33.3, 66.7, -10.0, 1)  # (-0.6 + 0.5 - 0.2) / 3
    ResponseTheme.objects.filter(pk=r1.pk).update(answered_at=dt.datetime(2025, 4, 2, 12, tzinfo=dt.UTC))
    assert volume(talk.north)[0] == ("Rude staff", 3, 60.0, 50.0, 50.0, 15.0, 1)  # out of March
    assert_same_as_direct(talk)


def test_responses_rescored_moved_and_deleted(talk):  # noqa: F811
    r2 = SurveyResponse.objects.get(team=talk.north, nps=9)  # Delivery delays and Rude staff
    SurveyResponse.objects.filter(pk=r2.pk).update(nps=0, sentiment=-0.9, touchpoint="Web")
    assert scores(talk.north)["Rude staff"] == (3, 3, -100.0, -55.0)  # 0, 3, 1; (-0.9 - 0.2) / 2
    assert_same_as_direct(talk)
    SurveyResponse.objects.filter(pk=r2.pk).update(team=talk.south)  # routed to another team
    # The open case (North's) keeps r2 attached: both its themes still count it.
    assert volume(talk.north) == [("Rude staff", 2, 50.0, 0.0, 100.0, -20.0, 1),
                                  ("Delivery delays", 1, 25.0, 0.0, 100.0, -60.0, 1)]
    assert [r[:2] for r in volume(talk.south)] == [("Delivery delays", 1), ("Price", 1), ("Rude staff", 1)]
    assert_same_as_direct(talk)
    SurveyResponse.objects.get(team=talk.north, nps=1).delete()  # its tag goes first (Django's cascade)
    assert [r[:2] for r in volume(talk.north)] == [("Delivery delays", 1), ("Rude staff", 1)]
    r1 = SurveyResponse.objects.get(team=talk.north, nps=2)
    with connection.cursor() as cursor:  # the response first, its tag after: counted out once
        cursor.execute("DELETE FROM surveys_surveyresponse WHERE id = %s", [r1.pk])
        cursor.execute("DELETE FROM surveys_responsetheme WHERE response_id = %s", [r1.pk])
    assert [r[:2] for r in volume(talk.north)] == [("Rude staff", 1)]
    assert_same_as_direct(talk)


def test_the_theme_totals_ignore_team_moves(talk):  # noqa: F811
    """The every-team totals are not keyed by team: a team move writes them nothing."""
    r2 = SurveyResponse.objects.get(team=talk.north, nps=9)  # Delivery delays and Rude staff
    before = ThemeTotal.objects.count()
    SurveyResponse.objects.filter(pk=r2.pk).update(team=talk.south)
    assert ThemeTotal.objects.count() == before
    assert totals() == totals_recomputed()
    assert theme_rollup.TOTALS.compact() > 0
    assert theme_rollup.TOTALS.rebuild() == ThemeTotal.objects.count()
    assert totals() == totals_recomputed()


def test_the_theme_totals_keyed_by_bits_as_a_customers_segments_move_their_counts(
        talk, django_capture_on_commit_callbacks):  # noqa: F811
    """The bits are a key (PostgreSQL's segment bits): a customer who joins a segment moves the
    counts of their answers' tags to the new bit pattern."""
    from django.db import transaction

    from segments.models import Segment
    from segments.services import segment_save
    from surveys.models import Customer
    from tests.factories import CustomerFactory

    r2 = SurveyResponse.objects.get(team=talk.north, nps=9)  # Delivery delays and Rude staff
    customer = CustomerFactory(tier="silver")
    SurveyResponse.objects.filter(pk=r2.pk).update(customer=customer)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        segment_save(Segment(name="Gold", conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
    assert {key[3] for key in totals()} == {0}
    Customer.objects.filter(pk=customer.pk).update(tier="gold")
    assert {key[3] for key in totals()} == {0, 1}
    assert sum(counts[0] for key, counts in totals().items() if key[3] == 1) == 2  # its two tags
    assert totals() == totals_recomputed()
    Customer.objects.filter(pk=customer.pk).update(tier="silver")
    assert {key[3] for key in totals()} == {0}
    assert totals() == totals_recomputed()


def test_a_tag_written_before_its_response_counts_once(talk):  # noqa: F811
    """The recording's unit of work may insert a staged response's tags before the response."""
    r5 = SurveyResponse.objects.get(team=talk.north, nps=10)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM surveys_surveyresponse WHERE id = %s", [r5.pk])
    ResponseThemeFactory(response_id=r5.pk, theme=talk.staff, answered_at=r5.answered_at)
    assert volume(talk.north)[0][:2] == ("Rude staff", 3)  # no response yet: not counted
    r5.save(force_insert=True)
    assert volume(talk.north)[0][:2] == ("Rude staff", 4)
    assert_same_as_direct(talk)


def test_a_retired_theme_keeps_its_counts_and_a_deleted_one_goes(talk):  # noqa: F811
    talk.staff.status = Theme.Status.RETIRED
    talk.staff.save()
    assert volume(talk.north)[0] == ("Rude staff (retired)", 3, 60.0, 50.0, 50.0, 15.0, 1)
    assert_same_as_direct(talk)
    Theme.objects.filter(pk=talk.delivery.pk).delete()
    assert [r[0] for r in volume(talk.north)] == ["Rude staff (retired)"]
    assert_same_as_direct(talk)


def test_folded_rebuilt_and_built_by_the_migration_alike(talk):  # noqa: F811
    expected = direct(talk.north)
    assert theme_rollup.ROLLUP.compact() > 0
    assert not ThemeRollup.objects.filter(fresh=True).exists()
    assert from_rollup(talk.north) == expected
    assert theme_rollup.ROLLUP.rebuild() == ThemeRollup.objects.count()
    assert from_rollup(talk.north) == expected
    # The migration: the tags and responses already stored (written with no trigger), then the triggers.
    with connection.cursor() as cursor:
        for statement in theme_rollup.ROLLUP.drop_trigger_sql():
            cursor.execute(statement)
    ThemeRollup.objects.all().delete()
    t.tagged(talk.north, at=TUE, nps=8, sentiment=0.3, themes=[talk.delivery])
    assert not ThemeRollup.objects.exists()
    importlib.import_module("reporting.migrations.0009_theme_rollup").build(None, None)
    assert volume(talk.north)[0] == ("Delivery delays", 3, 50.0, 66.7, 33.3, 6.7, 1)  # (-0.6 + 0.5 + 0.3) / 3
    t.tagged(talk.north, at=MON, nps=4, sentiment=None, themes=[talk.staff])  # the triggers are back
    assert from_rollup(talk.north) == direct(talk.north)
    assert from_rollup(talk.north)[0][0][0]["responses"] == 4


def test_the_page_api_and_csv_read_the_rollup(client, api_client, talk):  # noqa: F811
    client.force_login(talk.mia)
    tables = page_tables(client, "reporting:themes", MARCH)
    assert [r[:2] for r in tables["themes-volume"]] == [["Rude staff", "3"], ["Delivery delays", "2"]]
    for name, rows in tables.items():
        assert csv_rows(client, name, MARCH)[1:] == rows, name
    on_location = page_tables(client, "reporting:themes", MARCH + "&location=Leeds")  # the direct query
    assert on_location == tables
    api_client.force_authenticate(talk.mia)
    week = {"date_from": "2025-03-01", "date_to": "2025-03-31"}
    body = api_client.get("/api/v1/reports/themes-weekly/", week).json()
    assert body["rows"] == [{"theme": "Rude staff", "w2025-03-10": 3, "w2025-03-03": 0, "total": 3},
                            {"theme": "Delivery delays", "w2025-03-10": 1, "w2025-03-03": 1, "total": 2}]
    assert api_client.get("/api/v1/reports/themes-weekly/", {**week, "location": "Leeds"}).json()["rows"] == body["rows"]


def test_days_are_local_days_of_the_tags_answer_time(talk):  # noqa: F811
    assert {(r.day, r.theme_id) for r in ThemeRollup.objects.filter(team_id=talk.north.pk, tags__gt=0)} >= {
        (FRI.date(), talk.delivery.pk), (MON.date(), talk.delivery.pk), (TUE.date(), talk.staff.pk)}


def test_the_migration_gives_drifted_tags_their_responses_answer_time(talk):  # noqa: F811
    """surveys 0025: a tag left at an earlier answer time of its response (a partial version
    completed with another time, before response_tags_follow) is moved to the response's, and its
    counts with it; the filtered reading, which bounds both tables by the period, then agrees."""
    r2 = SurveyResponse.objects.get(team=talk.north, nps=9)  # Delivery delays and Rude staff
    ResponseTheme.objects.filter(response=r2).update(answered_at=dt.datetime(2025, 2, 20, 12, tzinfo=dt.UTC))
    assert [r[:2] for r in volume(talk.north)] == [("Rude staff", 2), ("Delivery delays", 1)]  # out of March
    migration = importlib.import_module("surveys.migrations.0025_theme_tags_take_their_answer_time")
    migration.follow(None, SimpleNamespace(connection=connection))  # what it reads of its schema editor
    assert set(ResponseTheme.objects.filter(response=r2).values_list("answered_at", flat=True)) == {r2.answered_at}
    assert [r[:2] for r in volume(talk.north)] == [("Rude staff", 3), ("Delivery delays", 2)]
    assert_same_as_direct(talk)
