"""The Django admin's survey and response forms: a survey stays with the source its responses came
through; a response's corrected answer time takes its theme tags with it."""

import datetime as dt

import pytest

from surveys.models import ResponseTheme
from tests.factories import ResponseThemeFactory, SurveyFactory, SurveyResponseFactory, WebhookSourceFactory

pytestmark = pytest.mark.django_db


def test_a_surveys_source_cannot_be_changed_in_the_admin(client, personas):
    survey = SurveyFactory()
    other = WebhookSourceFactory(slug="other", name="Other")
    personas.adam.is_staff = personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    url = f"/admin/surveys/survey/{survey.pk}/change/"
    assert 'name="source"' not in client.get(url).content.decode()
    client.post(url, {"source": other.pk, "external_id": survey.external_id, "name": "Renamed"})
    source_id = survey.source_id
    survey.refresh_from_db()
    assert (survey.source_id, survey.name) == (source_id, "Renamed")  # the rest of the form saved
    assert source_id != other.pk


def test_a_responses_answer_time_corrected_in_the_admin_moves_its_theme_tags(client, personas):
    """A theme tag carries its response's answer time (what the theme reports' periods read on
    both tables): an admin's correction of the time takes the tags with it."""
    response = SurveyResponseFactory(answered_at=dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC), comment="Billing.")
    ResponseThemeFactory(response=response)
    personas.adam.is_staff = personas.adam.is_superuser = True
    personas.adam.save()
    client.force_login(personas.adam)
    url = f"/admin/surveys/surveyresponse/{response.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {name: ("" if value is None else value) for name, value in data.items()}
    data.update({"answered_at_0": "2025-03-04", "answered_at_1": "09:30:00",
                 "attributes": "{}", "scores": "{}", "contact_consent": "{}"})
    data = {name: value for name, value in data.items() if name != "answered_at" and value is not False}
    answered = client.post(url, data)
    assert answered.status_code == 302, answered.context["adminform"].form.errors
    response.refresh_from_db()
    assert response.answered_at == dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC)
    assert list(ResponseTheme.objects.values_list("answered_at", flat=True)) == [response.answered_at]
