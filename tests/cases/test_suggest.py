"""Root-cause suggestion: the classifier learns from closed cases, suggests the likely causes of a
case being closed, and says nothing rather than something wrong and confident."""

from __future__ import annotations

import re

import pytest

from cases.models import Case, Playbook, RootCause, RootCauseModel
from cases.suggest import (
    KEEP_MODELS, case_features, fit, rank, suggest_root_causes, train_root_cause_model, training_rows,
)
from cases.tasks import retrain_root_cause_model_task
from tests.cases.text_helpers import cause, closed_history, make_closed_case, make_open_case, make_theme, tag
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(personas):
    closed_history(personas.north, per_cause=12)
    model = train_root_cause_model()
    assert model is not None
    return model


def names(suggestions) -> list[str]:
    return [s.root_cause.name for s in suggestions]


def test_it_trains_on_closed_cases_and_measures_held_out_accuracy(trained):
    assert trained.trained_on == 36
    assert trained.classes == 3
    assert trained.held_out == 7  # a stratified ~20 %
    assert trained.accuracy_top3 == 1.0  # three causes: the right one is always among three
    assert trained.accuracy_top1 >= 0.7  # separable words: most held-out cases are right first time
    assert bytes(trained.blob)


@pytest.mark.parametrize(("comment", "expected"), [
    ("My parcel arrived late, a week after the delivery date", "Late"),
    ("The cashier at the till was so rude to me", "Attitude"),
    ("You charged my card twice", "Wrong charge"),
])
def test_it_suggests_the_cause_the_words_point_to(trained, personas, comment, expected):
    case = make_open_case(personas.north, comment=comment)
    suggestions = suggest_root_causes(case)
    assert names(suggestions)[0] == expected
    assert 1 <= len(suggestions) <= 3
    confidences = [s.confidence for s in suggestions]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.15 <= c <= 1 for c in confidences)
    assert suggestions[0].as_offered() == {"root_cause_id": cause(expected).pk,
                                           "confidence": round(suggestions[0].confidence, 4)}


def test_themes_and_touchpoint_help_when_the_comment_says_little(personas):
    """A theme and a touchpoint are features too: with no words to go on they decide."""
    delivery = make_theme("Delivery", ["parcel"])
    for _ in range(15):
        late = make_closed_case(personas.north, cause("Late"), comment="", touchpoint="delivery")
        tag(late.response, delivery)
        make_closed_case(personas.north, cause("Attitude"), comment="", touchpoint="store visit")
    assert train_root_cause_model() is not None
    case = make_open_case(personas.north, comment="", touchpoint="delivery")
    tag(case.response, delivery)
    assert names(suggest_root_causes(case))[0] == "Late"


def test_nothing_is_trained_or_suggested_with_few_closed_cases(personas, settings):
    settings.ROOT_CAUSE_MIN_TRAINING_CASES = 30
    closed_history(personas.north, per_cause=9)  # 27 closed cases
    assert train_root_cause_model() is None
    assert not RootCauseModel.objects.exists()
    case = make_open_case(personas.north, comment="parcel arrived three days late")
    assert suggest_root_causes(case) == []


def test_nothing_is_trained_from_a_single_root_cause(personas):
    closed_history(personas.north, per_cause=40, causes=("Late",))
    assert train_root_cause_model() is None
    assert not RootCauseModel.objects.exists()


def test_open_cases_and_cases_without_a_cause_do_not_count(personas, settings):
    settings.ROOT_CAUSE_MIN_TRAINING_CASES = 30
    closed_history(personas.north, per_cause=9)
    for _ in range(10):
        make_open_case(personas.north, comment="parcel arrived late")
    assert train_root_cause_model() is None


def test_nothing_below_the_confidence_floor(trained, personas, settings):
    settings.ROOT_CAUSE_MIN_CONFIDENCE = 0.99
    case = make_open_case(personas.north, comment="My parcel arrived late")
    assert suggest_root_causes(case) == []


def test_a_comment_about_nothing_known_gets_no_confident_suggestion(trained, personas, settings):
    """Words the model never saw spread the probability: nothing clears a demanding floor."""
    settings.ROOT_CAUSE_MIN_CONFIDENCE = 0.6
    case = make_open_case(personas.north, comment="Xylophone quartz zebra", touchpoint="kiosk")
    assert suggest_root_causes(case) == []


def test_a_retired_root_cause_is_never_suggested(trained, personas):
    RootCause.objects.filter(name="Late").update(active=False)
    case = make_open_case(personas.north, comment="My parcel arrived late, the delivery was late")
    suggestions = suggest_root_causes(case)
    assert "Late" not in names(suggestions)


def test_a_retired_category_retires_its_causes_for_suggestion(trained, personas):
    late = cause("Late")
    late.category.active = False
    late.category.save()
    case = make_open_case(personas.north, comment="My parcel arrived late")
    assert "Late" not in names(suggest_root_causes(case))


def test_retraining_uses_the_newest_model_and_keeps_the_last_few(trained, personas):
    case = make_open_case(personas.north, comment="charged twice on my card")
    assert names(suggest_root_causes(case))[0] == "Wrong charge"
    # The business changes: double charges now turn out to be late deliveries (say, a courier fee).
    for _ in range(40):
        make_closed_case(personas.north, cause("Late"), comment="charged twice on my card", days_ago=0)
    models = [train_root_cause_model() for _ in range(KEEP_MODELS + 1)]
    assert list(RootCauseModel.objects.values_list("id", flat=True)) == [m.pk for m in reversed(models[1:])]
    assert names(suggest_root_causes(case))[0] == "Late"


def test_the_task_retrains(personas):
    closed_history(personas.north, per_cause=12)
    result = retrain_root_cause_model_task()
    assert result["trained"] is True and result["trained_on"] == 36 and result["classes"] == 3
    assert RootCauseModel.objects.count() == 1


def test_the_task_reports_when_there_is_too_little_to_learn(personas):
    assert retrain_root_cause_model_task() == {"trained": False}


def test_training_and_suggesting_need_no_download(personas, monkeypatch):
    """The classifier is fitted here from the closed cases; nothing is fetched from the network."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("root-cause suggestion tried to open a network connection")

    closed_history(personas.north, per_cause=12)
    case = make_open_case(personas.north, comment="You charged my card twice")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    rows, labels = training_rows()
    ranked = rank(fit(rows, labels), case_features(case, themes=[]))
    assert ranked[0][0] == cause("Wrong charge").pk


def test_a_model_that_cannot_be_loaded_means_no_suggestion(trained, personas):
    RootCauseModel.objects.filter(pk=trained.pk).update(blob=b"not a model")
    newer = RootCauseModel.objects.create(trained_on=1, classes=2, blob=b"also not a model")
    from cases.suggest import _publish_model_id

    _publish_model_id(newer.pk)
    case = make_open_case(personas.north, comment="My parcel arrived late")
    assert suggest_root_causes(case) == []



# --- the close form and the API ---------------------------------------------------------------
@pytest.fixture
def alice_client(client, personas):
    client.login(username="alice", password=PASSWORD)
    return client


def close_form_fields(html: str) -> dict:
    form = html[html.index('id="action-close"'):]
    form = form[:form.index("</form>")]
    fields = {"suggested": ""}  # an empty hidden input has no value attribute
    fields.update(re.findall(r'<input type="hidden" name="(version|suggested)" value="([^"]*)"', form))
    return fields


def test_the_close_form_offers_the_suggestions_with_their_confidence(trained, personas, alice_client):
    case = make_open_case(personas.north, comment="My parcel arrived late again")
    html = alice_client.get(f"/cases/{case.reference}/").content.decode()
    assert "Suggested root causes" in html
    assert re.search(r"Delivery › Late <span class=\"confidence\">\d+%</span>", html)
    assert f'data-root-cause="{cause("Late").pk}"' in html
    assert close_form_fields(html)["suggested"]


def test_no_suggestion_block_without_a_model(personas, alice_client):
    case = make_open_case(personas.north, comment="My parcel arrived late again")
    html = alice_client.get(f"/cases/{case.reference}/").content.decode()
    assert "Suggested root causes" not in html
    assert close_form_fields(html)["suggested"] == ""


def close_in_ui(client, case, root_cause, *, suggested=None):
    html = client.get(f"/cases/{case.reference}/").content.decode()
    fields = close_form_fields(html)
    data = {"version": fields["version"], "root_cause": root_cause.pk, "resolution": "Apologised and refunded.",
            "outcome": "resolved", "suggested": fields["suggested"] if suggested is None else suggested}
    return client.post(f"/cases/{case.reference}/close/", data)


def test_closing_with_a_suggested_cause_records_it_as_taken(trained, personas, alice_client):
    case = make_open_case(personas.north, comment="My parcel arrived late again")
    response = close_in_ui(alice_client, case, cause("Late"))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.suggestion_taken is True
    assert case.root_cause_suggestions[0]["root_cause_id"] == cause("Late").pk
    assert 0.15 <= case.root_cause_suggestions[0]["confidence"] <= 1
    assert case.events.get(kind="closed").data["suggestion_taken"] is True


def test_closing_with_another_cause_records_it_as_not_taken(trained, personas, alice_client):
    case = make_open_case(personas.north, comment="My parcel arrived late again")
    close_in_ui(alice_client, case, cause("Knowledge"))
    case.refresh_from_db()
    assert case.root_cause.name == "Knowledge"
    assert case.suggestion_taken is False and case.root_cause_suggestions


def test_closing_without_suggestions_records_nothing_offered(personas, alice_client):
    case = make_open_case(personas.north, comment="My parcel arrived late again")
    close_in_ui(alice_client, case, cause("Late"))
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    assert case.suggestion_taken is None and case.root_cause_suggestions == []


def test_a_forged_suggestion_field_is_ignored(trained, personas, alice_client):
    """The acceptance rate counts what the server offered, not what a browser says it was."""
    case = make_open_case(personas.north, comment="My parcel arrived late again")
    close_in_ui(alice_client, case, cause("Knowledge"), suggested='[{"root_cause_id": 1, "confidence": 0.9}]')
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.suggestion_taken is None


def test_a_failed_close_keeps_the_suggestions_on_the_form(trained, personas, alice_client):
    case = make_open_case(personas.north, comment="My parcel arrived late again")
    fields = close_form_fields(alice_client.get(f"/cases/{case.reference}/").content.decode())
    response = alice_client.post(f"/cases/{case.reference}/close/", {**fields, "root_cause": cause("Late").pk},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Say what was done for the customer." in html and "Delivery › Late" in html
    assert close_form_fields(html)["suggested"] == fields["suggested"]


def test_the_api_lists_suggestions_and_records_them_at_close(trained, personas, api_client):
    api_client.force_authenticate(personas.alice)
    case = make_open_case(personas.north, comment="The cashier was so rude to me")
    body = api_client.get(f"/api/v1/cases/{case.reference}/suggested-root-causes/").json()
    assert body["suggestions"][0]["root_cause"]["label"] == "Staff > Attitude"
    assert body["model"]["trained_on"] == 36 and body["model"]["accuracy_top3"] == 1.0
    response = api_client.post(f"/api/v1/cases/{case.reference}/close/", {
        "root_cause": cause("Attitude").pk, "resolution": "Apologised.", "outcome": "resolved",
        "offered": body["offered"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["suggestion_taken"] is True
    assert response.json()["root_cause_suggestions"][0]["root_cause_id"] == cause("Attitude").pk


def test_the_api_close_without_suggestions_takes_nothing(personas, api_client):
    api_client.force_authenticate(personas.alice)
    case = make_open_case(personas.north, comment="rude")
    response = api_client.post(f"/api/v1/cases/{case.reference}/close/", {
        "root_cause": cause("Attitude").pk, "resolution": "Apologised.", "outcome": "resolved"}, format="json")
    assert response.status_code == 200 and response.json()["suggestion_taken"] is None
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.root_cause == cause("Attitude")
    assert (case.root_cause_suggestions, case.suggestion_taken) == ([], None)


def test_the_api_refuses_malformed_suggestions(personas, api_client):
    api_client.force_authenticate(personas.alice)
    case = make_open_case(personas.north, comment="rude")
    response = api_client.post(f"/api/v1/cases/{case.reference}/close/", {
        "root_cause": cause("Attitude").pk, "resolution": "Apologised.", "outcome": "resolved",
        "suggestions": [{"root_cause_id": "x", "confidence": 7}]}, format="json")
    assert response.status_code == 400 and "suggestions" in response.json()
    case.refresh_from_db()
    assert case.status == Case.Status.NEW and case.root_cause is None


def test_suggestions_of_a_case_you_cannot_see_are_a_404(trained, personas, api_client):
    api_client.force_authenticate(personas.charlie)
    case = make_open_case(personas.north, comment="My parcel arrived late")
    assert api_client.get(f"/api/v1/cases/{case.reference}/suggested-root-causes/").status_code == 404


def test_no_model_means_an_empty_list_from_the_api(personas, api_client):
    api_client.force_authenticate(personas.alice)
    case = make_open_case(personas.north, comment="My parcel arrived late")
    assert api_client.get(f"/api/v1/cases/{case.reference}/suggested-root-causes/").json() == {
        "suggestions": [], "offered": "", "model": None}


CASE_PAGE_QUERY_CEILING = 15  # as tests/inbox (14 + the bell): suggestions and playbooks fit in the same budget


def test_the_case_page_with_suggestions_and_playbooks_stays_in_its_query_budget(
        trained, personas, alice_client, django_assert_max_num_queries):
    theme = make_theme("Delivery", ["parcel"])
    Playbook.objects.create(name="Delivery complaints", theme=theme, steps=["Call", "Refund"])
    case = make_open_case(personas.north, comment="My parcel arrived late again")
    tag(case.response, theme, "parcel")
    alice_client.get(f"/cases/{case.reference}/")  # the process loads the model once
    with django_assert_max_num_queries(CASE_PAGE_QUERY_CEILING):
        html = alice_client.get(f"/cases/{case.reference}/").content.decode()
    assert "Suggested root causes" in html and "Delivery complaints" in html
