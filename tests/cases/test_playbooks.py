"""Playbooks: the recommended actions for a case's root cause and themes, ticked on the case page
(each tick on the timeline), read and ticked through the API, edited by admins."""

from __future__ import annotations

import re

import pytest

from cases.models import Case, CaseEvent, Playbook
from cases.selectors import playbook_checklists, playbooks_for_case
from surveys.models import Theme
from tests.cases.text_helpers import cause, make_open_case, make_theme, tag
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


@pytest.fixture
def delivery_theme():
    return make_theme("Delivery", ["parcel", "courier"])


@pytest.fixture
def late_playbook():
    return Playbook.objects.create(
        name="Late delivery", root_cause=cause("Late"),
        steps=["Check the tracking", "Offer a refund of the delivery fee", "Book a redelivery slot"],
        script="I am sorry your parcel was late. I can see where it is and…",
    )


@pytest.fixture
def theme_playbook(delivery_theme):
    return Playbook.objects.create(name="Delivery complaints", theme=delivery_theme,
                                   steps=["Ask for the order number", "Call the courier"], script="Thank you…")


@pytest.fixture
def themed_case(personas, delivery_theme):
    case = make_open_case(personas.north, comment="The courier left my parcel in the rain")
    tag(case.response, delivery_theme, "courier", "parcel")
    return case


def tick(client, case, playbook, step, *, done=True, htmx=True, **extra):
    return client.post(f"/cases/{case.reference}/playbook-step/",
                       {"playbook": playbook.pk, "step": step, "done": "1" if done else "0", **extra},
                       headers=HX if htmx else {})


def test_the_case_page_shows_the_playbook_of_each_theme(alice_client, themed_case, theme_playbook, late_playbook):
    html = alice_client.get(f"/cases/{themed_case.reference}/").content.decode()
    assert "Recommended actions" in html
    assert "Delivery complaints" in html and "Theme: Delivery" in html
    assert "Ask for the order number" in html and "Thank you…" in html
    assert "Late delivery" not in html  # no root cause yet


def test_themes_of_later_responses_count_too(personas, delivery_theme, theme_playbook):
    from tests.inbox.helpers import make_response

    case = make_open_case(personas.north, comment="Bad service")
    later = make_response(customer=case.customer, team=personas.north, comment="And the courier was late")
    case.case_responses.create(response=later)
    tag(later, delivery_theme, "courier")
    assert [p.name for p in playbooks_for_case(case)] == ["Delivery complaints"]


def test_retired_themes_and_inactive_playbooks_are_not_shown(themed_case, delivery_theme, theme_playbook):
    theme_playbook.active = False
    theme_playbook.save()
    assert playbooks_for_case(themed_case) == []
    theme_playbook.active = True
    theme_playbook.save()
    Theme.objects.filter(pk=delivery_theme.pk).update(status=Theme.Status.RETIRED)
    assert playbooks_for_case(themed_case) == []


def test_choosing_a_root_cause_in_the_close_form_shows_its_playbook(alice_client, themed_case, late_playbook,
                                                                     theme_playbook):
    html = alice_client.get(f"/cases/{themed_case.reference}/").content.decode()
    assert f'hx-get="/cases/{themed_case.reference}/playbooks/"' in html  # on the root-cause select
    fragment = alice_client.get(f"/cases/{themed_case.reference}/playbooks/", {"root_cause": cause("Late").pk},
                                headers=HX).content.decode()
    assert 'id="case-playbooks"' in fragment
    assert fragment.index("Late delivery") < fragment.index("Delivery complaints")  # root cause first
    assert "Root cause: Delivery › Late" in fragment
    assert f'name="root_cause" value="{cause("Late").pk}"' in fragment  # ticks keep it shown


def test_a_tick_lands_on_the_timeline_and_the_checklist(alice_client, personas, themed_case, theme_playbook):
    response = tick(alice_client, themed_case, theme_playbook, 1)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ticked “Call the courier”." in html
    assert re.search(r'aria-pressed="true"><span class="box" aria-hidden="true">☑</span> Call the courier', html)
    assert 'id="case-timeline" class="card timeline" aria-labelledby="timeline-h" hx-swap-oob="true"' in html
    assert "alice ticked “Call the courier” (Delivery complaints)" in html.replace("Alice", "alice")
    case = Case.objects.get(pk=themed_case.pk)
    assert 'id="close-version" hx-swap-oob="true"' in html and f'value="{case.version}"' in html
    event = CaseEvent.objects.get(case=themed_case, kind=CaseEvent.Kind.PLAYBOOK_STEP)
    assert event.actor == personas.alice and event.note == "Call the courier"
    assert event.data == {"playbook_id": theme_playbook.pk, "playbook": "Delivery complaints", "step": 1,
                          "done": True}


def test_the_latest_tick_or_untick_wins(alice_client, personas, themed_case, theme_playbook):
    tick(alice_client, themed_case, theme_playbook, 0)
    tick(alice_client, themed_case, theme_playbook, 1)
    tick(alice_client, themed_case, theme_playbook, 0, done=False)
    events = list(themed_case.events.all())
    [checklist] = playbook_checklists([theme_playbook], events)
    assert [step.done for step in checklist.steps] == [False, True]
    assert checklist.steps[1].by == personas.alice.display_name
    assert themed_case.events.filter(kind="playbook_step").count() == 3


def test_without_javascript_a_tick_redirects_back_with_a_message(alice_client, themed_case, theme_playbook):
    response = tick(alice_client, themed_case, theme_playbook, 0, htmx=False)
    assert response.status_code == 302 and response["Location"] == f"/cases/{themed_case.reference}/"
    page = alice_client.get(response["Location"]).content.decode()
    assert "Ticked “Ask for the order number”." in page
    assert 'aria-pressed="true"' in page


def test_a_case_you_cannot_see_is_a_404(client, personas, themed_case, theme_playbook):
    client.login(username="charlie", password=PASSWORD)
    assert tick(client, themed_case, theme_playbook, 0).status_code == 404
    assert client.get(f"/cases/{themed_case.reference}/playbooks/").status_code == 404
    assert not CaseEvent.objects.filter(kind="playbook_step").exists()


def test_a_closed_case_refuses_ticks_with_a_clear_error(alice_client, themed_case, theme_playbook):
    Case.objects.filter(pk=themed_case.pk).update(
        status=Case.Status.CLOSED, root_cause=cause("Late"), resolution="Done", outcome="resolved")
    response = tick(alice_client, themed_case, theme_playbook, 0)
    assert response.status_code == 422
    assert "Cannot tick a playbook step on a closed case." in response.content.decode()
    assert not CaseEvent.objects.filter(kind="playbook_step").exists()


def test_a_closed_case_shows_its_checklist_read_only(alice_client, themed_case, theme_playbook, late_playbook):
    tick(alice_client, themed_case, theme_playbook, 0)
    Case.objects.filter(pk=themed_case.pk).update(
        status=Case.Status.CLOSED, root_cause=cause("Late"), resolution="Done", outcome="resolved")
    html = alice_client.get(f"/cases/{themed_case.reference}/").content.decode()
    assert "Late delivery" in html  # the recorded root cause's playbook
    assert "the checklist stays as it was" in html
    assert f"/cases/{themed_case.reference}/playbook-step/" not in html


def test_bad_ticks_get_a_message_not_a_500(alice_client, themed_case, theme_playbook):
    assert tick(alice_client, themed_case, theme_playbook, 7).status_code == 422
    response = alice_client.post(f"/cases/{themed_case.reference}/playbook-step/",
                                 {"playbook": "nope", "step": "0"}, headers=HX)
    assert response.status_code == 422 and "not in use any more" in response.content.decode()
    response = alice_client.post(f"/cases/{themed_case.reference}/playbook-step/",
                                 {"playbook": theme_playbook.pk, "step": "first"}, headers=HX)
    assert response.status_code == 422 and "Say which step to tick." in response.content.decode()
    assert alice_client.get(f"/cases/{themed_case.reference}/playbook-step/").status_code == 405
    assert not CaseEvent.objects.filter(case=themed_case, kind=CaseEvent.Kind.PLAYBOOK_STEP).exists()


# --- API ----------------------------------------------------------------------------------------


def test_the_api_lists_playbooks(api_client, personas, late_playbook, theme_playbook):
    api_client.force_authenticate(personas.alice)
    body = api_client.get("/api/v1/playbooks/").json()
    assert [p["name"] for p in body] == ["Delivery complaints", "Late delivery"]
    late = body[1]
    assert late["root_cause"]["label"] == "Delivery > Late" and late["theme"] is None
    assert late["steps"][0] == "Check the tracking"
    assert [p["name"] for p in api_client.get("/api/v1/playbooks/", {"theme": "delivery"}).json()] == [
        "Delivery complaints"]
    assert api_client.get("/api/v1/playbooks/", {"root_cause": "x"}).status_code == 400


def test_the_api_ticks_a_step_and_shows_the_checklist(api_client, personas, themed_case, theme_playbook):
    api_client.force_authenticate(personas.alice)
    response = api_client.post(f"/api/v1/cases/{themed_case.reference}/playbook-step/",
                               {"playbook": theme_playbook.pk, "step": 1}, format="json")
    assert response.status_code == 200, response.content
    [checklist] = response.json()["playbooks"]
    assert checklist["name"] == "Delivery complaints" and checklist["applies_to"] == "Theme: Delivery"
    assert [s["done"] for s in checklist["steps"]] == [False, True]
    assert response.json()["timeline"][-1]["kind"] == "playbook_step"


def test_the_api_refuses_ticks_it_cannot_record(api_client, personas, themed_case, theme_playbook):
    api_client.force_authenticate(personas.alice)
    url = f"/api/v1/cases/{themed_case.reference}/playbook-step/"
    assert api_client.post(url, {"playbook": 999999, "step": 0}, format="json").status_code == 400
    assert api_client.post(url, {"playbook": theme_playbook.pk, "step": 5}, format="json").status_code == 400
    assert api_client.post(url, {"playbook": theme_playbook.pk, "step": -1}, format="json").status_code == 400
    Case.objects.filter(pk=themed_case.pk).update(
        status=Case.Status.CLOSED, root_cause=cause("Late"), resolution="Done", outcome="resolved")
    response = api_client.post(url, {"playbook": theme_playbook.pk, "step": 0}, format="json")
    assert response.status_code == 400
    assert "closed case" in str(response.json())
    api_client.force_authenticate(personas.charlie)
    assert api_client.post(url, {"playbook": theme_playbook.pk, "step": 0}, format="json").status_code == 404


# --- admin --------------------------------------------------------------------------------------


def test_admins_write_steps_one_per_line(client, personas):
    client.force_login(personas.adam)
    personas.adam.is_superuser = True
    personas.adam.save()
    response = client.post("/admin/cases/playbook/add/", {
        "name": "Rude staff", "root_cause": cause("Attitude").pk, "theme": "",
        "steps": "Apologise\n\n  Speak to the store manager  \nOffer a voucher", "script": "I am sorry…",
        "active": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    playbook = Playbook.objects.get(name="Rude staff")
    assert playbook.steps == ["Apologise", "Speak to the store manager", "Offer a voucher"]
    page = client.get(f"/admin/cases/playbook/{playbook.pk}/change/").content.decode()
    assert "Apologise\nSpeak to the store manager\nOffer a voucher" in page


def test_a_playbook_needs_exactly_one_of_root_cause_and_theme(client, personas, delivery_theme):
    personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    response = client.post("/admin/cases/playbook/add/", {
        "name": "Both", "root_cause": cause("Late").pk, "theme": delivery_theme.pk, "steps": "x", "active": "on"})
    assert response.status_code == 200
    assert "Choose either a root cause or a theme (exactly one)." in response.content.decode()


def test_the_model_admin_is_read_only_and_shows_accuracy(client, personas):
    from cases.models import RootCauseModel

    personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    model = RootCauseModel.objects.create(trained_on=120, classes=5, accuracy_top1=0.61, accuracy_top3=0.88,
                                          held_out=24, blob=b"x" * 2048)
    listing = client.get("/admin/cases/rootcausemodel/").content.decode()
    assert "61.0%" in listing and "88.0%" in listing
    page = client.get(f"/admin/cases/rootcausemodel/{model.pk}/change/")
    assert page.status_code == 200 and "2 KiB" in page.content.decode()
    assert client.get("/admin/cases/rootcausemodel/add/").status_code == 403
