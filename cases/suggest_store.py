"""How the root-cause model (cases.suggest) is stored: its fitted parameters as JSON, never a pickle.

Unpickling a database row runs whatever code the row names, so anyone able to write that row
(a SQL injection elsewhere, a restored backup, a careless admin script) could run code in every
web process and worker. The pipeline's structure is code (cases.suggest.build_pipeline); only
its learned numbers are data, and only they are stored:

    {"format": "closeloop.root-cause/1", "trained_on": <n>,
     "words": {"vocabulary": {term: column}, "idf": <array>},
     "chars": {"vocabulary": {...}, "idf": <array>},
     "meta": {"vocabulary": {feature: column}},
     "classifier": {"classes": [root cause ids], "coef": <array>, "intercept": <array>}}

An <array> is {"dtype": "<f8", "shape": [...], "data": base64 of the little-endian bytes}: JSON
with numbers as text is four times larger, and numpy reads the bytes back with a fixed dtype
(never an object array). The document is zlib-compressed into RootCauseModel.blob. Loading
decompresses (bounded), parses JSON, checks every field's type and shape, and rebuilds the
pipeline with build_pipeline(); anything else (a pickle, a truncated row, a wrong shape) raises
ModelFormatError and no suggestion is shown."""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np

FORMAT = "closeloop.root-cause/1"
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024  # decompressed; a bomb stops here


class ModelFormatError(ValueError):
    """The stored bytes are not a model in FORMAT."""


def _array(values: np.ndarray) -> dict:
    values = np.ascontiguousarray(values, dtype="<f8")
    return {"dtype": "<f8", "shape": list(values.shape), "data": base64.b64encode(values.tobytes()).decode()}


def _read_array(doc, *, ndim: int) -> np.ndarray:
    if not isinstance(doc, dict) or doc.get("dtype") != "<f8" or not isinstance(doc.get("data"), str):
        raise ModelFormatError("an array is not a float64 array")
    shape = doc.get("shape")
    if not isinstance(shape, list) or len(shape) != ndim or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ModelFormatError("an array has a wrong shape")
    try:
        raw = base64.b64decode(doc["data"], validate=True)
    except ValueError as exc:
        raise ModelFormatError("an array's data is not base64") from exc
    if len(raw) != 8 * int(np.prod(shape)):
        raise ModelFormatError("an array's data does not match its shape")
    return np.frombuffer(raw, dtype="<f8").reshape(shape).copy()


def _vocabulary(doc) -> dict[str, int]:
    if not isinstance(doc, dict) or not all(isinstance(k, str) and type(v) is int for k, v in doc.items()):
        raise ModelFormatError("a vocabulary is not {term: column}")
    if sorted(doc.values()) != list(range(len(doc))):
        raise ModelFormatError("a vocabulary's columns are not 0..n-1")
    return doc


def _parts(pipeline):
    union = pipeline.named_steps["features"]
    steps = dict(union.transformer_list)
    return (steps["words"].named_steps["tfidf"], steps["chars"].named_steps["tfidf"],
            steps["meta"].named_steps["onehot"], pipeline.named_steps["classifier"])


def dumps(pipeline, *, trained_on: int) -> bytes:
    """The fitted pipeline's parameters, as compressed JSON."""
    words, chars, meta, classifier = _parts(pipeline)
    document = {
        "format": FORMAT,
        "trained_on": int(trained_on),
        "words": {"vocabulary": {t: int(i) for t, i in words.vocabulary_.items()}, "idf": _array(words.idf_)},
        "chars": {"vocabulary": {t: int(i) for t, i in chars.vocabulary_.items()}, "idf": _array(chars.idf_)},
        "meta": {"vocabulary": {t: int(i) for t, i in meta.vocabulary_.items()}},
        "classifier": {"classes": [int(c) for c in classifier.classes_], "coef": _array(classifier.coef_),
                       "intercept": _array(classifier.intercept_)},
    }
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)


def loads(blob: bytes, build_pipeline):
    """The pipeline rebuilt from stored parameters (build_pipeline(n) gives the unfitted structure).
    Raises ModelFormatError for anything that is not FORMAT: nothing in the bytes is ever run."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(bytes(blob), MAX_DOCUMENT_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise ModelFormatError("not a complete compressed model (or over the size limit)")
        document = json.loads(raw)
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"not a stored model ({type(exc).__name__})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFormatError(f"not a {FORMAT} document")
    try:
        trained_on = document["trained_on"]
        parts = {name: document[name] for name in ("words", "chars", "meta", "classifier")}
    except (KeyError, TypeError) as exc:
        raise ModelFormatError(f"a part is missing ({exc})") from exc
    if type(trained_on) is not int or not all(isinstance(p, dict) for p in parts.values()):
        raise ModelFormatError("malformed document")
    classes = parts["classifier"].get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(type(c) is int for c in classes):
        raise ModelFormatError("the classes are not root cause ids")

    pipeline = build_pipeline(trained_on)
    words, chars, meta, classifier = _parts(pipeline)
    width = 0
    for vectorizer, part in ((words, parts["words"]), (chars, parts["chars"])):
        vocabulary = _vocabulary(part.get("vocabulary"))
        idf = _read_array(part.get("idf"), ndim=1)
        if idf.shape != (len(vocabulary),):
            raise ModelFormatError("idf does not match the vocabulary")
        vectorizer.vocabulary_ = vocabulary
        vectorizer.fixed_vocabulary_ = False
        vectorizer.idf_ = idf
        width += len(vocabulary)
    meta_vocabulary = _vocabulary(parts["meta"].get("vocabulary"))
    meta.vocabulary_ = meta_vocabulary
    meta.feature_names_ = sorted(meta_vocabulary, key=meta_vocabulary.get)
    width += len(meta_vocabulary)
    coef = _read_array(parts["classifier"].get("coef"), ndim=2)
    intercept = _read_array(parts["classifier"].get("intercept"), ndim=1)
    rows = 1 if len(classes) == 2 else len(classes)
    if coef.shape != (rows, width) or intercept.shape != (rows,):
        raise ModelFormatError("the classifier's weights do not match its features and classes")
    classifier.classes_ = np.asarray(classes)
    classifier.coef_ = coef
    classifier.intercept_ = intercept
    classifier.n_features_in_ = width
    return pipeline
