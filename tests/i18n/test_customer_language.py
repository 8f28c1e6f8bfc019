"""The customer's language: from the survey tool's language field, else the comment's detected
language; customer e-mails, templates and the recovery page in it, else in the team's default;
and customer templates without metric jargon."""

from __future__ import annotations

import pytest

from accounts.preferences import customer_language
from cases.models import EmailTemplate
from followup.tasks import verification_sweep_task
from surveys.text.language import vendor_language
from tests.factories import PASSWORD
from tests.followup.conftest import closed_case
from tests.i18n.leftovers import english_leftovers
from tests.inbox.helpers import make_case, make_customer


@pytest.mark.parametrize(("value", "expected"), [
    ("es", "es"), ("ES", "es"), ("es-MX", "es"), ("fr_FR", "fr"), ("default", ""), ("", ""), (None, ""),
    (7, ""), ("Spanish", ""),
])
def test_the_survey_tools_language_field_is_read_as_a_code(value, expected):
    assert vendor_language({"language": value}) == expected


@pytest.mark.parametrize(("spoken", "team", "expected"), [
    ("es", "en", "es"), ("de", "fr", "de"), ("pt", "fr", "fr"), ("", "de", "de"), ("", "", "en"), ("it", "xx", "en"),
])
def test_the_customers_language_falls_back_to_the_teams(spoken, team, expected):
    assert customer_language(spoken, team) == expected


def test_a_vendor_language_wins_over_the_detected_one(db):
    """Formbricks says the answer was given in French; the comment (English words) is not asked."""
    from django.utils import timezone

    from surveys.models import SurveyResponse
    from surveys.normalized import NormalizedResponse, Score
    from surveys.services.recording import response_record
    from tests.factories import WebhookSourceFactory

    normalized = NormalizedResponse(
        response_id="r-fr-1", survey_id="s1", survey_name="Checkout", answered_at=timezone.now(),
        scores=(Score(metric="nps", key="nps", value=2, scale_min=0, scale_max=10),),
        comment="The delivery was very late and nobody called me back about it.", attributes={"language": "fr"},
    )
    response_record(source=WebhookSourceFactory(), normalized=normalized)
    assert SurveyResponse.objects.get(external_id="r-fr-1").language == "fr"


def test_a_spanish_customer_gets_the_spanish_e_mail(personas, mailoutbox):
    closed_case(customer=make_customer(name="Lucía"), language="es", touchpoint="entrega")
    verification_sweep_task()
    message = mailoutbox[-1]
    assert message.subject == "¿Lo hemos solucionado? Su opinión sobre entrega"
    assert message.body.startswith("Hola, Lucía:\n\nNos contó un problema con entrega en Leeds el ")
    assert "Gracias,\nEl equipo de atención al cliente" in message.body
    assert english_leftovers(message.body, "es") == []


def test_an_unknown_language_gets_the_teams_default(personas, mailoutbox):
    personas.north.language = "de"
    personas.north.save(update_fields=["language"])
    personas.south.language = "de"
    personas.south.save(update_fields=["language"])
    closed_case(customer=make_customer(name="Ana"), language="pt")
    verification_sweep_task()
    assert mailoutbox[-1].subject.startswith("Haben wir es in Ordnung gebracht?")


def test_seeded_customer_templates_speak_no_metric_jargon(db):
    for template in EmailTemplate.objects.all():
        assert "score" not in template.body and "score" not in template.subject, template.name
    assert set(EmailTemplate.objects.values_list("language", flat=True)) == {"en", "es", "fr", "de"}


def test_the_case_page_offers_the_templates_in_the_customers_language(client, personas):
    case = make_case(personas.north, response_extra={"language": "fr"}, customer=make_customer(name="Camille"))
    client.login(username="alice", password=PASSWORD)
    html = client.get(f"/cases/{case.reference}/").content.decode()
    assert "Excuses et proposition de rappel" in html and "Apology and call-back offer" not in html
    template = EmailTemplate.objects.get(name="Excuses et proposition de rappel")
    response = client.post(f"/cases/{case.reference}/email/", {"fill": "1", "template": template.pk,
                                                              "version": case.version})
    html = response.content.decode()
    assert "Bonjour Camille," in html and "Nous regrettons de ne pas avoir été à la hauteur." in html
    assert "NPS" not in html.split("Bonjour Camille,")[1].split("</textarea>")[0]


def test_a_customer_without_a_name_is_greeted_in_their_language(client, personas):
    case = make_case(personas.north, response_extra={"language": "es"}, customer=make_customer(name=""))
    client.login(username="alice", password=PASSWORD)
    template = EmailTemplate.objects.get(name="Disculpa y oferta de llamada")
    html = client.post(f"/cases/{case.reference}/email/", {"fill": "1", "template": template.pk,
                                                          "version": case.version}).content.decode()
    assert "Hola, estimado cliente:" in html
