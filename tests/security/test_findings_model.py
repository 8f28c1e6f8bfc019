"""Issue #20 item 7: the root-cause model was unpickled from a database row, so whoever could write
that row could run code in every process. It is now stored as JSON parameters (cases.suggest_store);
a pickle in the row is refused without being run."""

from __future__ import annotations

import io
import json
import pathlib
import pickle
import zlib

import joblib
import pytest

from cases.models import RootCauseModel
from cases.suggest import _publish_model_id, suggest_root_causes, train_root_cause_model
from tests.cases.text_helpers import closed_history, make_open_case

pytestmark = pytest.mark.django_db


class _Planted:
    """What an attacker writes into the row: unpickling it creates a file (any call would do)."""

    def __init__(self, path: pathlib.Path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


def _joblib_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    joblib.dump({"pipeline": obj, "classes": [1, 2]}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("packing", ["joblib", "pickle", "zlib-pickle"])
def test_a_pickle_in_the_model_row_is_refused_and_never_run(personas, tmp_path, packing):
    marker = tmp_path / "code-ran"
    planted = _Planted(marker)
    blob = {"joblib": _joblib_bytes(planted), "pickle": pickle.dumps(planted),
            "zlib-pickle": zlib.compress(pickle.dumps(planted))}[packing]
    row = RootCauseModel.objects.create(trained_on=40, classes=2, blob=blob)
    _publish_model_id(row.pk)
    case = make_open_case(personas.north, comment="My parcel arrived late")
    assert suggest_root_causes(case) == []
    assert not marker.exists(), "the row's pickle was run"


def test_a_trained_model_is_stored_as_json_parameters_and_suggests_from_them(personas):
    closed_history(personas.north, per_cause=12)
    model = train_root_cause_model()
    document = json.loads(zlib.decompress(bytes(model.blob)))
    assert document["format"] == "closeloop.root-cause/1"
    assert set(document) == {"format", "trained_on", "words", "chars", "meta", "classifier"}
    assert document["classifier"]["coef"]["dtype"] == "<f8"
    case = make_open_case(personas.north, comment="My parcel arrived late again")
    assert suggest_root_causes(case)[0].root_cause.name == "Late"
