"""Recognition: a promoter's comment naming a member of staff or a location reaches the right
managers once, and shows in the feed of the teams that may see it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from alerts.models import Alert
from followup import services
from followup.models import Recognition
from surveys.models import SurveyResponse
from surveys.signals import Recorded, response_recorded
from tests.alerts.helpers import customer, defaults_off, response, rule
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(personas):
    """Names on the personas; a praise rule for promoters (NPS 9-10) is the only active rule."""
    for user, first, last in ((personas.alice, "Alice", "Okafor"), (personas.bob, "Bob", "Builder"),
                              (personas.charlie, "Zoë", "Müller"), (personas.mia, "Mia", "Lund")):
        user.first_name, user.last_name = first, last
        user.save()
    south_manager = make_user("sam", first_name="Sam", last_name="Park")
    Membership.objects.create(user=south_manager, team=personas.south, is_manager=True)
    defaults_off()
    rule(name="Promoter praise", metric="nps", operator="gte", threshold=Decimal("9"), action="praise")
    personas.sam = south_manager
    return personas


def record(capture, *, nps=10, comment="", team=None, location="", **extra) -> SurveyResponse:
    """Record a response through the pipeline's hook (alerts, routing, recognition), committed."""
    recorded = response(nps=nps, comment=comment, cust=customer(name="Ines Ortega"), team=team,
                        location=location, touchpoint="store_visit", **extra)
    with capture(execute=True):
        response_recorded.send(sender=SurveyResponse, recorded=Recorded.stored(recorded))
    return recorded


def recognition_mails(mailbox):
    return [m for m in mailbox if m.subject.startswith("[Closeloop] Recognition")]


def test_a_promoter_naming_a_staff_member_reaches_their_managers_once(staff, mailoutbox,
                                                                     django_capture_on_commit_callbacks):
    recorded = record(django_capture_on_commit_callbacks, comment="Alice Okafor sorted everything out!",
                      team=staff.north)
    recognition = Recognition.objects.get(response=recorded)
    assert recognition.praised_user == staff.alice and recognition.team == staff.north
    assert recognition.quote == "Alice Okafor sorted everything out!" and recognition.score == 10
    assert recognition.alert == Alert.objects.get(response=recorded)
    assert recognition.recipients == [staff.mia.pk, staff.alice.pk]
    (mail,) = recognition_mails(mailoutbox)
    assert mail.to == ["mia@example.com"] and mail.cc == ["alice@example.com"]
    assert mail.subject == "[Closeloop] Recognition for Alice Okafor: a customer named them (10)"
    assert "Alice Okafor sorted everything out!" in mail.body and "Ines Ortega" in mail.body
    assert "You get this as Alice's manager; Alice is in copy." in mail.body
    recognition.refresh_from_db()
    assert recognition.notified_at is not None

    # The pipeline runs again for the same response (a retried task): nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        response_recorded.send(sender=SurveyResponse, recorded=Recorded.stored(recorded))
    assert Recognition.objects.count() == 1 and len(recognition_mails(mailoutbox)) == 1
    assert services.recognition_notify(recognition_id=recognition.pk) == "skipped"


def test_names_match_as_whole_words_ignoring_case_and_accents(staff, mailoutbox,
                                                            django_capture_on_commit_callbacks):
    recorded = record(django_capture_on_commit_callbacks, comment="ZOE MULLER was a star ⭐", team=staff.north)
    recognition = Recognition.objects.get(response=recorded)
    # Zoë works in South: the recognition belongs to her team and goes to her manager.
    assert recognition.praised_user == staff.charlie and recognition.team == staff.south
    (mail,) = recognition_mails(mailoutbox)
    assert mail.to == ["sam@example.com"] and mail.cc == ["charlie@example.com"]
    # Whole words: "Bobby" is not Bob, "malice" holds no Alice, "Alice Okafors" is not Alice Okafor.
    assert services.named_user("Bobby was kind, no malice at all", team_id=staff.north.pk) is None
    assert services.named_user("The Alice Okafors of this world", team_id=None) is None


def test_a_first_name_counts_when_it_is_unique_in_the_responses_team(staff, mailoutbox,
                                                                    django_capture_on_commit_callbacks):
    recorded = record(django_capture_on_commit_callbacks, comment="thanks to bob for the quick fix",
                      team=staff.north)
    assert Recognition.objects.get(response=recorded).praised_user == staff.bob
    # A second Bob in the team makes "Bob" ambiguous: nobody is named.
    other_bob = make_user("bob2", first_name="Bob", last_name="Marley")
    Membership.objects.create(user=other_bob, team=staff.north)
    assert services.named_user("thanks to bob", team_id=staff.north.pk) is None
    # A first name outside the response's team does not count either.
    assert services.named_user("thanks to sam", team_id=staff.north.pk) is None


def test_the_staff_member_the_response_attributes_name_wins(staff, mailoutbox,
                                                            django_capture_on_commit_callbacks):
    recorded = record(django_capture_on_commit_callbacks, comment="Great help from the team",
                      team=staff.north, attributes={"staff": "bob"})
    recognition = Recognition.objects.get(response=recorded)
    assert recognition.praised_user == staff.bob and recognition.location == ""
    (mail,) = recognition_mails(mailoutbox)
    assert mail.to == ["mia@example.com"] and mail.cc == ["bob@example.com"]


def test_a_promoter_naming_a_location_reaches_the_managers_of_the_responses_team(
        staff, mailoutbox, django_capture_on_commit_callbacks):
    response(nps=8, location="Leeds Briggate", cust=customer())  # a known location, from earlier responses
    cache.delete(services.LOCATIONS_CACHE_KEY)
    recorded = record(django_capture_on_commit_callbacks, comment="The leeds briggate store was spotless.",
                      team=staff.south, location="York")
    recognition = Recognition.objects.get(response=recorded)
    assert recognition.praised_user is None and recognition.location == "Leeds Briggate"
    assert recognition.team == staff.south
    (mail,) = recognition_mails(mailoutbox)
    assert mail.to == ["sam@example.com"] and mail.cc == []
    assert mail.subject.startswith("[Closeloop] Recognition for Leeds Briggate")
    assert "You get this as a manager of the team that serves Leeds Briggate." in mail.body


def test_the_responses_own_location_counts_when_the_comment_names_it(staff, mailoutbox,
                                                                    django_capture_on_commit_callbacks):
    recorded = record(django_capture_on_commit_callbacks, comment="Everyone in Harrogate was lovely",
                      team=staff.north, location="Harrogate")
    assert Recognition.objects.get(response=recorded).location == "Harrogate"


def test_a_response_without_a_team_gets_the_team_routing_gives_it(staff, mailoutbox,
                                                                 django_capture_on_commit_callbacks):
    # The pipeline routes a response before inserting it; one that has no team (recorded some
    # other way) is recognised for the team routing would give it.
    recorded = record(django_capture_on_commit_callbacks, comment="Bob was brilliant", team=None)
    recognition = Recognition.objects.get(response=recorded)
    assert recognition.praised_user == staff.bob and recognition.team == staff.north  # the default team


@pytest.mark.parametrize("nps,comment", [
    (8, "Alice Okafor was great"),      # a passive, not a promoter: the rule does not even match
    (10, "Great service, thank you"),   # names nobody and nowhere
    (10, ""),                           # no comment
])
def test_no_recognition_without_a_promoter_naming_someone(staff, mailoutbox, django_capture_on_commit_callbacks,
                                                         nps, comment):
    record(django_capture_on_commit_callbacks, nps=nps, comment=comment, team=staff.north)
    assert not Recognition.objects.exists() and recognition_mails(mailoutbox) == []


def test_a_top_box_csat_is_a_promoter_too(staff, mailoutbox, django_capture_on_commit_callbacks):
    rule(name="CSAT praise", metric="csat", operator="gte", threshold=Decimal("4"), action="praise")
    top = record(django_capture_on_commit_callbacks, nps=None, comment="Mia Lund is the best", team=staff.north,
                 csat=Decimal("5"), csat_scale_min=1, csat_scale_max=5)
    not_top = record(django_capture_on_commit_callbacks, nps=None, comment="Mia Lund was fine", team=staff.north,
                     csat=Decimal("4"), csat_scale_min=1, csat_scale_max=5)
    assert Recognition.objects.get(response=top).score == 5
    assert not Recognition.objects.filter(response=not_top).exists()


def test_a_person_without_a_manager_gets_it_themselves(staff, mailoutbox, django_capture_on_commit_callbacks):
    Membership.objects.filter(team=staff.north, is_manager=True).delete()
    record(django_capture_on_commit_callbacks, comment="Alice Okafor was wonderful", team=staff.north)
    (mail,) = recognition_mails(mailoutbox)
    assert mail.to == ["alice@example.com"] and mail.cc == []
    assert "Well done: this one is yours." in mail.body


def test_a_failed_send_is_retried_by_the_sweep(staff, mailoutbox, settings, django_capture_on_commit_callbacks):
    from followup.tasks import verification_sweep_task

    recorded = record(django_capture_on_commit_callbacks, comment="Alice Okafor was wonderful", team=staff.north)
    recognition = Recognition.objects.get(response=recorded)
    # As if the first send had failed (or the broker was down when it was queued):
    Recognition.objects.filter(pk=recognition.pk).update(notified_at=None,
                                                         created_at=timezone.now() - dt.timedelta(minutes=5))
    mailoutbox.clear()
    settings.EMAIL_BACKEND = "tests.followup.test_verification.BrokenBackend"
    with pytest.raises(ConnectionRefusedError):
        services.recognition_notify(recognition_id=recognition.pk)
    recognition.refresh_from_db()
    assert recognition.notified_at is None  # the claim is released for the retry
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert verification_sweep_task()["recognitions"] == 1
    assert len(recognition_mails(mailoutbox)) == 1
    assert verification_sweep_task()["recognitions"] == 0


# --- the feed -------------------------------------------------------------------------------
@pytest.fixture
def feed(staff, django_capture_on_commit_callbacks):
    north = record(django_capture_on_commit_callbacks, comment="Alice Okafor was kind", team=staff.north)
    south = record(django_capture_on_commit_callbacks, comment="Zoë Müller fixed it", team=staff.south)
    response(nps=9, location="Leeds Briggate", cust=customer())
    cache.delete(services.LOCATIONS_CACHE_KEY)
    place = record(django_capture_on_commit_callbacks, comment="Leeds Briggate rocks", team=staff.north)
    old = record(django_capture_on_commit_callbacks, comment="Bob Builder, hero", team=staff.north)
    Recognition.objects.filter(response=old).update(created_at=timezone.now() - dt.timedelta(days=40))
    return {name: Recognition.objects.get(response=r) for name, r in
            (("north", north), ("south", south), ("place", place), ("old", old))}


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def _shown(page) -> list[str]:
    html = page.content.decode()
    return [name for name, quote in (("north", "Alice Okafor was kind"), ("south", "Zoë Müller fixed it"),
                                     ("place", "Leeds Briggate rocks"), ("old", "Bob Builder, hero"))
            if quote in html]


def test_the_feed_shows_the_teams_a_person_may_see_newest_first(client, staff, feed):
    _login(client, staff.alice)
    page = client.get(reverse("followup:recognition"))
    assert page.status_code == 200
    assert _shown(page) == ["north", "place", "old"]
    html = page.content.decode()
    assert html.index("Leeds Briggate rocks") < html.index("Alice Okafor was kind") < html.index("Bob Builder, hero")
    _login(client, staff.charlie)
    assert _shown(client.get(reverse("followup:recognition"))) == ["south"]
    _login(client, staff.adam)
    assert _shown(client.get(reverse("followup:recognition"))) == ["north", "south", "place", "old"]


def test_the_feed_needs_sign_in(client, feed):
    page = client.get(reverse("followup:recognition"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


def test_the_feed_filters_by_person_location_team_and_period(client, staff, feed):
    _login(client, staff.adam)
    url = reverse("followup:recognition")
    assert _shown(client.get(url, {"person": staff.alice.pk})) == ["north"]
    assert _shown(client.get(url, {"location": "leeds briggate"})) == ["place"]
    assert _shown(client.get(url, {"team": staff.south.pk})) == ["south"]
    assert _shown(client.get(url, {"period": "30"})) == ["north", "south", "place"]
    bad = client.get(url, {"period": "forever"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()


def test_an_agent_cannot_filter_into_another_team(client, staff, feed):
    _login(client, staff.alice)
    page = client.get(reverse("followup:recognition"), {"team": staff.south.pk})
    assert page.status_code == 400 and _shown(page) == []


def test_the_api_lists_recognition_with_the_same_visibility_and_filters(api_client, staff, feed):
    api_client.force_authenticate(staff.alice)
    url = "/api/v1/recognitions/"
    body = api_client.get(url).json()
    assert [r["quote"] for r in body["results"]] == ["Leeds Briggate rocks", "Alice Okafor was kind",
                                                     "Bob Builder, hero"]
    first = body["results"][1]
    assert first["praised_user"]["name"] == "Alice Okafor" and first["team"]["slug"] == "north"
    assert first["score"] == 10 and first["notified"] is True and first["touchpoint"] == "store_visit"
    assert [r["location"] for r in api_client.get(url, {"location": "Leeds Briggate"}).json()["results"]] == [
        "Leeds Briggate"]
    assert api_client.get(url, {"team": staff.south.pk}).status_code == 400
    assert api_client.get(f"{url}{feed['south'].pk}/").status_code == 404
    assert api_client.post(url, {}).status_code == 405
    api_client.force_authenticate(staff.charlie)
    assert [r["quote"] for r in api_client.get(url).json()["results"]] == ["Zoë Müller fixed it"]
    api_client.force_authenticate(None)
    assert api_client.get(url).status_code in (401, 403)


def test_names_with_hyphens_and_apostrophes_and_people_who_leave(staff, settings):
    """The per-process directory of names: punctuation inside a name, and a deactivated or renamed
    person stops (or starts) being named at once, even with a long cache check interval."""
    settings.ALERT_RULES_CHECK_SECONDS = 3600  # only the change signal can refresh the directory
    jean = make_user("jl", first_name="Jean-Luc", last_name="O'Brien")
    Membership.objects.create(user=jean, team=staff.north)
    assert services.named_user("Jean-Luc O'Brien sorted it out", team_id=None) == jean
    assert services.named_user("jean-luc was great", team_id=staff.north.pk) == jean
    jean.is_active = False
    jean.save()
    assert services.named_user("Jean-Luc O'Brien sorted it out", team_id=None) is None
    staff.alice.first_name = "Alicia"
    staff.alice.save()
    assert services.named_user("Alicia Okafor helped me", team_id=None) == staff.alice
    assert services.named_user("Alice Okafor helped me", team_id=None) is None
