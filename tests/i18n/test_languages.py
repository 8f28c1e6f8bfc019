"""Each language renders the inbox, the case page, the staff e-mails, the customer's e-mail and the
public "Did we put it right?" page without an English leftover: chosen by the browser
(Accept-Language) or by the person's profile, and for customers by their response's language."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from cases.models import Notification, NotificationKind
from cases.notifications import send_email
from cases.services import case_add_note, case_claim, case_log_contact
from followup.tasks import verification_sweep_task
from tests.factories import PASSWORD
from tests.followup.conftest import closed_case, link_path
from tests.i18n.leftovers import english_leftovers
from tests.inbox.helpers import make_case, make_customer

LANGUAGES = ["es", "fr", "de"]
# One string of each page, as each language has it (the check above must not pass on an empty page).
INBOX = {"en": "Recently closed", "es": "Cerrados recientemente", "fr": "Fermés récemment", "de": "Kürzlich geschlossen"}
CASE = {"en": "In the customer’s words", "es": "En palabras del cliente", "fr": "Dans les mots du client",
        "de": "In den Worten des Kunden"}


@pytest.fixture
def worked_case(personas):
    """A case with a claim, a note and a contact attempt on its timeline."""
    case = make_case(personas.north, nps=2, comment="Nadie contestó al teléfono.")
    case = case_claim(case_id=case.pk, by=personas.alice, expected_version=case.version)
    case = case_add_note(case_id=case.pk, by=personas.alice, note="Llamar mañana.", expected_version=case.version)
    return case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome="no_answer", note="",
                            expected_version=case.version)


@pytest.fixture
def alice(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_inbox_and_the_case_page_follow_the_browser(alice, worked_case, language):
    inbox = alice.get("/cases/?view=team", HTTP_ACCEPT_LANGUAGE=language)
    page = alice.get(f"/cases/{worked_case.reference}/", HTTP_ACCEPT_LANGUAGE=language)
    for response, expected in ((inbox, INBOX[language]), (page, CASE[language])):
        html = response.content.decode()
        assert response.status_code == 200 and response["Content-Language"] == language
        assert f'<html lang="{language}">' in html and expected in html
        assert english_leftovers(html, language) == []
    assert worked_case.reference in inbox.content.decode()
    # Numbers in the language's format: the customer's account value, 12500.
    assert {"es": "12\xa0500", "fr": "12\xa0500", "de": "12.500"}[language] in page.content.decode()


def test_english_is_english(alice, worked_case):
    html = alice.get(f"/cases/{worked_case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert CASE["en"] in html and "logged a phone contact attempt (no answer)" in html and "12,500" in html
    assert english_leftovers(html, "es") != []  # the check finds English where it is


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_language_chosen_on_the_profile_wins_over_the_browser(alice, personas, worked_case, language):
    personas.alice.language = language
    personas.alice.save(update_fields=["language"])
    for url, expected in ((f"/cases/{worked_case.reference}/", CASE[language]), ("/cases/?view=team", INBOX[language])):
        html = alice.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert expected in html and english_leftovers(html, language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_javascript_strings_come_in_the_page_language(client, language):
    js = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    expected = {"es": "Siguiente caso de la lista", "fr": "Dossier suivant dans la liste",
                "de": "Nächster Fall in der Liste"}[language]
    assert json.dumps(expected)[1:-1] in js  # the catalogue is JSON: "N\u00e4chster"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", [NotificationKind.ASSIGNED, NotificationKind.OVERDUE, NotificationKind.ESCALATED])
def test_staff_e_mails_are_in_the_recipients_language(personas, worked_case, language, kind):
    personas.bob.language = language
    personas.bob.save(update_fields=["language"])
    notification = Notification.objects.create(case=worked_case, kind=kind, recipient=personas.bob,
                                               address=personas.bob.email, period="test")
    send_email(notification)
    message = mail.outbox[-1]
    html = message.alternatives[0][0]
    for text in (message.subject, message.body, html):
        assert english_leftovers(text, language) == [], text
    assert worked_case.reference in message.subject
    assert {"es": "Abrir el caso", "fr": "Ouvrir le dossier", "de": "Fall öffnen"}[language] in message.body


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_customer_gets_the_recovery_check_and_its_page_in_their_language(personas, mailoutbox, client,
                                                                             language):
    closed_case(customer=make_customer(name="Dana"), language=language)
    verification_sweep_task()
    message = mailoutbox[-1]
    greeting = {"es": "Hola, Dana:", "fr": "Bonjour Dana,", "de": "Guten Tag Dana,"}[language]
    assert greeting in message.body
    for text in (message.subject, message.body, message.alternatives[0][0]):
        assert english_leftovers(text, language) == [], text
    # The page follows the customer, not the browser that opens the link.
    page = client.get(link_path(message.body), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Language"] == language
    assert {"es": "¿Lo hemos solucionado?", "fr": "Avons-nous réglé le problème ?",
            "de": "Haben wir es in Ordnung gebracht?"}[language] in html
    assert english_leftovers(html, language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_alert_and_invitation_e_mails_are_in_the_recipients_language(personas, language):
    from accounts.services.users import _send_invitation
    from alerts.services import _messages
    from tests.inbox.helpers import make_alert, make_response

    personas.bob.language = language
    personas.bob.save(update_fields=["language"])
    alert = make_alert(make_response(customer=make_customer(), team=personas.north, nps=2))
    message = _messages(alert, [personas.bob])[0]
    _send_invitation(personas.bob, personas.mia)
    invitation = mail.outbox[-1]
    for text in (message.subject, message.body, message.alternatives[0][0],
                 invitation.subject, invitation.body, invitation.alternatives[0][0]):
        assert english_leftovers(text, language) == [], text
    assert {"es": "Hola, bob:", "fr": "Bonjour bob,", "de": "Guten Tag bob,"}[language] in message.body


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "A closed case cannot move to in progress (cannot log a contact attempt on it)."),
    ("es", "Un caso cerrado no puede pasar a en curso (no se puede registrar un intento de contacto en este caso)."),
    ("fr", "Un dossier fermé ne peut pas passer à en cours (consignation d'une tentative de contact impossible)."),
    ("de", "Ein Fall mit Status „Geschlossen“ kann nicht zu „In Bearbeitung“ wechseln (Erfassen eines "
           "Kontaktversuchs nicht möglich)."),
])
def test_the_case_flows_refusals_are_in_the_readers_language(personas, language, expected):
    from django.core.exceptions import ValidationError
    from django.utils import translation

    case = closed_case()
    with translation.override(language), pytest.raises(ValidationError) as refused:
        case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome="reached", note="")
    assert refused.value.messages == [expected]
