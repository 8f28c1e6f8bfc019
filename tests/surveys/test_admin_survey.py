"""The Django admin's survey form: a survey stays with the source its responses came through."""

import pytest

from tests.factories import SurveyFactory, WebhookSourceFactory

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
