"""Root-cause suggestion: the classifier learns from closed cases, suggests the likely causes of a
case being closed, and says nothing rather than something wrong and confident."""

from __future__ import annotations

import pytest

from cases.models import RootCause, RootCauseModel
from cases.suggest import KEEP_MODELS, suggest_root_causes, train_root_cause_model
from cases.tasks import retrain_root_cause_model_task
from tests.cases.text_helpers import cause, closed_history, make_closed_case, make_open_case, make_theme, tag

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


def test_a_model_that_cannot_be_loaded_means_no_suggestion(trained, personas):
    RootCauseModel.objects.filter(pk=trained.pk).update(blob=b"not a model")
    newer = RootCauseModel.objects.create(trained_on=1, classes=2, blob=b"also not a model")
    from cases.suggest import _publish_model_id

    _publish_model_id(newer.pk)
    case = make_open_case(personas.north, comment="My parcel arrived late")
    assert suggest_root_causes(case) == []

