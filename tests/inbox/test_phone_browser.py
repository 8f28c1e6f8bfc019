"""Phone-first case work at 375 x 812 (headless Chromium with touch, live server): from the inbox
to a closed case by tapping, never scrolling past the page's first two screens.

Data is created with the case services before navigating (live_server runs in another thread
against the same transactional database)."""

from __future__ import annotations

import pytest

from cases.models import Case, CaseEvent
from tests.factories import PASSWORD
from tests.inbox.helpers import open_case, root_causes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 375, 812
# The furthest the page has been scrolled since it loaded (scroll events are kept in the page).
TRACK_SCROLL = """
window.__maxScroll = 0;
addEventListener("scroll", () => { window.__maxScroll = Math.max(window.__maxScroll, window.scrollY); }, {passive: true});
"""


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


class ScrollWatch:
    """The deepest scroll position seen on any page of the walk."""

    def __init__(self, page):
        self.page, self.deepest = page, 0

    def check(self) -> None:
        seen = self.page.evaluate("Math.max(window.__maxScroll || 0, window.scrollY)")
        self.deepest = max(self.deepest, seen)


def tap_at_centre(page, locator) -> None:
    """A real tap where a finger would land (Playwright's locator.tap() refuses a point covered by
    another element, and here the stretched link covering the card is the point)."""
    box = locator.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


@pytest.fixture
def phone(browser, live_server, personas):
    personas.alice.first_name, personas.alice.last_name = "Alice", "Morgan"
    personas.alice.save(update_fields=["first_name", "last_name"])
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=2,
                                  has_touch=True, is_mobile=True)
    context.add_init_script(TRACK_SCROLL)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").tap()
    page.wait_for_url(f"{live_server.url}/cases/**")
    yield page
    context.close()


def test_an_agent_closes_a_case_on_a_phone_within_two_screens(phone, live_server, personas):
    page = phone
    causes = root_causes()
    for n in range(3):
        open_case(personas.north, comment=f"Another unhappy visit, number {n}.")
    case = open_case(personas.north, nps=1, comment="Waited forty minutes at the till and nobody came.")
    watch = ScrollWatch(page)

    page.goto(f"{live_server.url}/cases/?view=unassigned")
    card = page.locator(".case-row", has_text=case.reference)
    expect()(card).to_be_visible()
    # At least three cards fit the first screen.
    third = page.locator(".case-row").nth(2).bounding_box()
    assert third["y"] + third["height"] <= HEIGHT

    # The checkbox's whole cell (here: below the box itself) ticks the box and does not open the case.
    card.scroll_into_view_if_needed()
    box = card.locator(".col-select").bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] - 8)
    expect()(card.locator('input[name="cases"]')).to_be_checked()
    assert page.url.endswith("/cases/?view=unassigned")

    # Anywhere else on the card opens the case (here: the comment, far from the reference link).
    watch.check()
    tap_at_centre(page, card.locator(".col-comment"))
    page.wait_for_url(f"{live_server.url}/cases/{case.reference}/")
    expect()(page.get_by_role("heading", level=1)).to_contain_text(case.reference)

    bar = page.locator(".action-bar")
    expect()(bar).to_be_visible()
    assert bar.bounding_box()["y"] + bar.bounding_box()["height"] == pytest.approx(HEIGHT, abs=1)

    bar.get_by_role("button", name="Claim & start").tap()
    expect()(page.locator("#case-actions-status")).to_contain_text(f"{case.reference} is yours and in progress.")
    expect()(page.locator("#case-actions-status")).to_be_focused()  # the swap has settled
    watch.check()

    bar.get_by_role("link", name="Contact").tap()
    contact = page.locator("#action-contact")
    expect()(contact).to_have_attribute("open", "")
    expect()(page.locator("#contact-channel")).to_be_focused()
    assert contact.bounding_box()["y"] < HEIGHT / 3  # the form opens near the top of the screen
    page.locator("#contact-channel").select_option("phone")
    page.locator("#contact-outcome").select_option("reached")
    page.locator("#contact-note").fill("Spoke to her, apologised, offered a refund.")
    contact.get_by_role("button", name="Log contact").tap()
    expect()(page.locator("#case-actions-status")).to_contain_text("Contact attempt logged")
    expect()(page.locator("#case-actions-status")).to_be_focused()  # the swap has settled
    watch.check()

    bar.get_by_role("link", name="Note").tap()
    expect()(page.locator("#note-note")).to_be_focused()
    page.locator("#note-note").fill("Refund approved by the store manager.")
    page.locator("#action-note").get_by_role("button", name="Add note").tap()
    expect()(page.locator("#case-actions-status")).to_contain_text("Note added")
    expect()(page.locator("#case-actions-status")).to_be_focused()  # the swap has settled
    watch.check()

    bar.get_by_role("link", name="Close").tap()
    close = page.locator("#action-close")
    expect()(close).to_have_attribute("open", "")
    page.locator("#close-root_cause").select_option(label="Long wait")
    page.locator("#close-resolution").fill("Refunded the purchase and apologised.")
    page.locator("#close-outcome").select_option("resolved")
    # The whole form fits between the top of the screen and the action bar.
    submit = close.get_by_role("button", name="Close case")
    assert submit.bounding_box()["y"] + submit.bounding_box()["height"] <= bar.bounding_box()["y"]
    watch.check()
    submit.tap()
    expect()(page.locator("#case-actions-status")).to_contain_text(f"{case.reference} is closed.")
    expect()(page.locator("#case-actions-status")).to_be_focused()  # the swap has settled
    watch.check()

    assert watch.deepest <= 2 * HEIGHT, f"scrolled to {watch.deepest} px"
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    assert case.assignee == personas.alice
    assert case.root_cause == causes["wait"]
    assert case.outcome == "resolved"
    kinds = list(CaseEvent.objects.filter(case=case).order_by("created_at", "pk").values_list("kind", flat=True))
    assert kinds.index("contact") < kinds.index("note") < kinds.index("closed")
