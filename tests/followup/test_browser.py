"""The recovery-check page on a phone, in a real browser (headless Chromium, live server)."""

from __future__ import annotations

import pytest

from cases.models import Case
from followup.models import Verification
from followup.tasks import verification_sweep_task
from tests.factories import PASSWORD
from tests.followup.conftest import closed_case, link_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_answers_on_a_phone(browser, live_server, personas, mailoutbox, _taxonomy):
    case = closed_case()
    verification_sweep_task()
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(live_server.url + link_path(mailoutbox[0].body))
    assert page.get_by_role("heading", name="Did we put it right?").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # Every score is a finger-sized target.
    box = page.locator("label[for=answer-0]").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 40
    page.locator("label[for=answer-4]").tap()
    page.get_by_label("Anything you would like to add?").fill("Refund still missing.")
    page.get_by_role("button", name="Send my answer").tap()
    page.get_by_role("heading", name="Thank you").wait_for()
    assert "4 of 10" in page.content()
    assert problems == []  # no CSP violation, no missing asset
    context.close()
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS
    assert Verification.objects.get(case=case).comment == "Refund still missing."


def test_the_recognition_feed_reads_on_a_phone(browser, live_server, personas):
    from followup.models import Recognition
    from tests.alerts.helpers import customer, response

    personas.bob.first_name, personas.bob.last_name = "Bob", "Builder"
    personas.bob.save()
    for n in range(3):
        recorded = response(nps=10, comment=f"Bob Builder went out of his way, visit {n}.", cust=customer(),
                            team=personas.north, location="Leeds", touchpoint="store_visit")
        Recognition.objects.create(response=recorded, praised_user=personas.bob, team=personas.north,
                                   quote=recorded.comment, score=10, recipients=[personas.mia.pk])
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/recognition/")
    assert page.get_by_role("heading", name="Recognition", exact=True).is_visible()
    assert page.locator("article.recognition").count() == 3
    page.get_by_label("Person").select_option(label="Bob Builder")
    page.get_by_role("button", name="Filter").tap()
    page.wait_for_url("**/recognition/?**")
    assert page.locator("article.recognition").count() == 3
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert "store visit" in page.locator("article.recognition").first.inner_text()
    context.close()
