"""The dashboard and the root-cause page on a phone, driven by keyboard, in headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import PASSWORD

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def _sync_db_beside_playwright():
    """Playwright's sync API runs an event loop in this thread; the database calls of the test's
    own fixtures (and pytest-django's flush at teardown) are still synchronous and safe: the
    setting Playwright documents for pytest-django. Session-wide, as the flush comes last."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.mark.browser
def test_manager_pages_fit_a_phone_and_work_by_keyboard(_sync_db_beside_playwright, transactional_db, busy,
                                                        live_server, page):
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/reports/overdue/")
    assert page.locator("h1").inner_text() == "Overdue dashboard"
    # No horizontal scroll of the page itself (wide tables scroll inside their own region).
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "reporting-dashboard-375.png"), full_page=True)
    # Keyboard: tab to the "Root causes" tab and follow it.
    link = page.get_by_role("navigation", name="Reports").get_by_role("link", name="Root causes")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/reports/root-causes/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("table[data-report=root-causes-pareto] tbody tr").count() == 2
    page.screenshot(path=str(SHOTS / "reporting-root-causes-375.png"), full_page=True)


@pytest.mark.browser
def test_sla_met_is_on_screen_at_1366_px_and_equal_counts_draw_equal_bars(_sync_db_beside_playwright,
                                                                          transactional_db, busy, live_server, page):
    import datetime as dt

    from django.utils import timezone

    from tests.reporting import builders as b

    now = timezone.now()
    # A third cause with one closure, like "Defect": two bars of 1 with notes of different lengths
    # ("75.0 % cumulative", "100.0 % cumulative").
    b.case(busy.north, created=now - dt.timedelta(days=6), closed=now - dt.timedelta(days=5),
           root_cause=b.cause("Rude", "Staff"))
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/reports/overdue/")

    page.goto(f"{live_server.url}/reports/kpis/")
    region = page.locator("table[data-report=kpis-by-team]").locator("xpath=..").bounding_box()
    for label in ("First-contact SLA met %", "Resolution SLA met %"):
        box = page.locator("table[data-report=kpis-by-team] thead th", has_text=label).bounding_box()
        assert box["x"] + box["width"] <= min(1366, region["x"] + region["width"]), label
    page.screenshot(path=str(SHOTS / "reporting-kpis-1366.png"))

    page.goto(f"{live_server.url}/reports/root-causes/")
    bars = page.locator("figure.bar-chart li")
    widths = {}
    for i in range(bars.count()):
        item = bars.nth(i)
        widths.setdefault(item.locator(".bar-value").inner_text().split()[0], []).append(
            item.locator("rect").bounding_box()["width"])
    assert len(widths["1"]) == 2 and abs(widths["1"][0] - widths["1"][1]) < 0.5, widths
    assert abs(widths["2"][0] - 2 * widths["1"][0]) < 1, widths
