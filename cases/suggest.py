"""Root-cause suggestion at closure: which causes were behind cases like this one?

A scikit-learn pipeline learns from closed cases (their root cause) over what the opening response
says and where it came from:

- the comment, as TF-IDF word unigrams and bigrams plus character n-grams (robust to typos,
  inflections and the other languages the demo and real programmes see);
- the comment's themes, its touchpoint, its survey and the metric of the alert rule that fired.

A multinomial logistic regression gives calibrated-enough probabilities, shown as the confidence
in the close form. The fitted parameters are stored in the database (RootCauseModel: JSON, never a
pickle, see cases.suggest_store) so every web process and worker uses the same model; a Celery
task retrains it nightly.

    train_root_cause_model(*, now=None) -> RootCauseModel | None
    suggest_root_causes(case, *, k=3) -> list[Suggestion]    # [] without a model

No suggestion is better than a wrong confident one: below ROOT_CAUSE_MIN_TRAINING_CASES closed
cases (or with one cause only) nothing is trained, suggestions under ROOT_CAUSE_MIN_CONFIDENCE are
dropped, and retired root causes are never offered."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import router, transaction
from django.utils import timezone

from cases import suggest_store
from cases.models import Case, RootCause, RootCauseCategory, RootCauseModel
from core.compiled import compiled_values
from core.lean import lean_instances
from core.process_cache import ProcessCache

logger = logging.getLogger(__name__)

TRAINING_LIMIT = 20_000  # the most recent closed cases; older ones describe an older business
HELD_OUT = 0.2
RANDOM_STATE = 42
KEEP_MODELS = 3  # older rows are deleted after each training
EMPTY_COMMENT = "nocomment"  # a token for "the customer wrote nothing", so such cases still train


@dataclass(frozen=True)
class Suggestion:
    root_cause: RootCause
    confidence: float  # 0..1

    def as_offered(self) -> dict:
        """What case_close(..., suggestions=[...]) records."""
        return {"root_cause_id": self.root_cause.pk, "confidence": round(self.confidence, 4)}

    @property
    def percent(self) -> int:
        return round(self.confidence * 100)


# --- features -------------------------------------------------------------------------------
# Each case becomes {"text": comment, "meta": {"theme=<slug>": 1, "touchpoint=<tp>": 1, ...}}.
# The selector functions are module-level: the pipeline's structure is code (build_pipeline), only
# its fitted numbers are stored (cases.suggest_store).


def texts(rows) -> list[str]:
    return [row["text"] for row in rows]


def metas(rows) -> list[dict]:
    return [row["meta"] for row in rows]


def features(*, comment: str, touchpoint: str = "", survey_id=None, metric: str = "", themes=()) -> dict:
    meta = {f"theme={slug}": 1 for slug in themes}
    if touchpoint:
        meta[f"touchpoint={touchpoint.strip().lower()}"] = 1
    if survey_id:
        meta[f"survey={survey_id}"] = 1
    if metric:
        meta[f"metric={metric}"] = 1
    return {"text": (comment or "").strip() or EMPTY_COMMENT, "meta": meta}


def build_pipeline(n_rows: int):
    """Words + character n-grams + categorical facts, into a multinomial logistic regression.
    Small training sets keep every term (min_df=1): dropping rare words there drops everything.
    scikit-learn is imported here and when a model is loaded, not with this module: a web process
    that never shows a close form does not pay its ~1.5 s and ~100 MB at start-up."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer

    min_df = 2 if n_rows >= 500 else 1
    words = TfidfVectorizer(
        ngram_range=(1, 2), min_df=min_df, max_features=50_000, sublinear_tf=True, strip_accents="unicode",
    )
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), min_df=min_df, max_features=60_000, sublinear_tf=True,
        strip_accents="unicode",
    )
    union = FeatureUnion([
        ("words", Pipeline([("pick", FunctionTransformer(texts)), ("tfidf", words)])),
        ("chars", Pipeline([("pick", FunctionTransformer(texts)), ("tfidf", chars)])),
        ("meta", Pipeline([("pick", FunctionTransformer(metas)), ("onehot", DictVectorizer())])),
    ])
    classifier = LogisticRegression(C=2.0, max_iter=300)
    return Pipeline([("features", union), ("classifier", classifier)])


def _theme_slugs(response_ids) -> dict[int, list[str]]:
    from surveys.models import ResponseTheme

    found: dict[int, list[str]] = defaultdict(list)
    ids = list(response_ids)
    for start in range(0, len(ids), 5000):
        links = ResponseTheme.objects.filter(response_id__in=ids[start:start + 5000])
        for response_id, slug in links.values_list("response_id", "theme__slug"):
            found[response_id].append(slug)
    return found


def training_rows(limit: int = TRAINING_LIMIT) -> tuple[list[dict], list[int]]:
    """The most recent closed cases with a root cause: (features, root cause ids)."""
    cases = list(
        Case.objects.filter(status=Case.Status.CLOSED, root_cause__isnull=False)
        .order_by("-closed_at", "-id")
        .values("root_cause_id", "response_id", "response__comment", "response__touchpoint",
                "response__survey_id", "alert__rule__metric")[:limit]
    )
    themes = _theme_slugs(row["response_id"] for row in cases)
    rows = [
        features(comment=row["response__comment"], touchpoint=row["response__touchpoint"],
                 survey_id=row["response__survey_id"], metric=row["alert__rule__metric"] or "",
                 themes=themes.get(row["response_id"], ()))
        for row in cases
    ]
    return rows, [row["root_cause_id"] for row in cases]


def case_features(case: Case, *, themes=None) -> dict:
    """The features of a case being closed (its opening response). `themes` (slugs) saves the
    query when the caller already has them."""
    response = case.response
    if themes is None:
        themes = _theme_slugs([response.pk]).get(response.pk, [])
    metric = ""
    if case.alert_id is not None and case.alert is not None and case.alert.rule_id is not None:
        metric = case.alert.rule.metric
    return features(comment=response.comment, touchpoint=response.touchpoint, survey_id=response.survey_id,
                    metric=metric, themes=themes)


# --- training -------------------------------------------------------------------------------


def top_k_accuracy(probabilities: np.ndarray, classes, truth, k: int) -> float:
    """Share of rows whose true class is among the k most probable (unseen classes count as misses)."""
    if len(truth) == 0:
        return 0.0
    order = np.argsort(-probabilities, axis=1)[:, :k]
    classes = np.asarray(classes)
    hits = sum(1 for row, label in zip(order, truth, strict=True) if label in classes[row])
    return hits / len(truth)


def _split(rows: list[dict], labels: list[int]):
    """A stratified ~20 % held out when every cause has two cases and the split can hold one of
    each; otherwise a plain random split (still deterministic)."""
    counts = Counter(labels)
    n_test = max(1, round(len(labels) * HELD_OUT))
    stratify = labels if min(counts.values()) >= 2 and n_test >= len(counts) else None
    from sklearn.model_selection import train_test_split

    return train_test_split(rows, labels, test_size=n_test, random_state=RANDOM_STATE, stratify=stratify)


_thread_controller = None


def _threads():
    """One ThreadpoolController per process, built on first use (inspecting the loaded libraries
    costs ~2 ms)."""
    global _thread_controller
    if _thread_controller is None:
        from threadpoolctl import ThreadpoolController

        _thread_controller = ThreadpoolController()
    return _thread_controller


def fit(rows: list[dict], labels: list):
    """Fit a fresh pipeline. One BLAS/OpenMP thread (here and when suggesting): on a small shared
    machine more threads than cores make the solver about three times slower and a suggestion
    twice as slow, and the process has other work to do."""
    with _threads().limit(limits=1):
        return build_pipeline(len(rows)).fit(rows, labels)


def evaluate(rows: list[dict], labels: list[int]) -> dict:
    """Fit on ~80 %, measure top-1 and top-3 on the held-out ~20 %."""
    train_x, test_x, train_y, test_y = _split(rows, labels)
    if len(set(train_y)) < 2:
        return {"accuracy_top1": None, "accuracy_top3": None, "held_out": 0}
    pipeline = fit(train_x, train_y)
    probabilities = pipeline.predict_proba(test_x)
    classes = pipeline.classes_
    return {
        "accuracy_top1": top_k_accuracy(probabilities, classes, test_y, 1),
        "accuracy_top3": top_k_accuracy(probabilities, classes, test_y, 3),
        "held_out": len(test_y),
    }


def train_root_cause_model(*, now=None, limit: int = TRAINING_LIMIT) -> RootCauseModel | None:
    """Train on the most recent closed cases, measure on a held-out split, refit on all of them and
    store the model (keeping the last few). None, and nothing stored, when there is too little to
    learn from: fewer than ROOT_CAUSE_MIN_TRAINING_CASES closed cases or a single root cause."""
    rows, labels = training_rows(limit)
    if len(rows) < settings.ROOT_CAUSE_MIN_TRAINING_CASES or len(set(labels)) < 2:
        logger.info("root-cause model not trained", extra={"closed_cases": len(rows), "causes": len(set(labels))})
        return None
    started = time.monotonic()
    scores = evaluate(rows, labels)
    pipeline = fit(rows, labels)
    blob = suggest_store.dumps(pipeline, trained_on=len(rows))
    with transaction.atomic():
        model = RootCauseModel.objects.create(
            created_at=now or timezone.now(), trained_on=len(rows), classes=len(set(labels)),
            blob=blob, **scores,
        )
        keep = RootCauseModel.objects.order_by("-created_at", "-id").values_list("id", flat=True)[:KEEP_MODELS]
        RootCauseModel.objects.exclude(id__in=list(keep)).delete()
    _publish_model_id(model.pk)
    logger.info("root-cause model trained", extra={
        "model_id": model.pk, "trained_on": len(rows), "classes": model.classes,
        "accuracy_top1": scores["accuracy_top1"], "accuracy_top3": scores["accuracy_top3"],
        "seconds": round(time.monotonic() - started, 2),
    })
    return model


# --- suggesting -----------------------------------------------------------------------------
MODEL_KEY = "cases:root_cause_model:newest"
MODEL_KEY_SECONDS = 300  # a model stored elsewhere is picked up at the latest after this long


class _NewestModel:
    """The version of the pipeline cache: the id of the model in use, from the shared cache (set
    by training), else one indexed query. "0" means none is trained yet; never None, so a cache
    outage costs a query per suggestion, not a model load."""

    def current(self) -> str:
        from django.core.cache import cache

        try:
            cached = cache.get(MODEL_KEY)
        except Exception as exc:  # noqa: BLE001 - without the cache, ask the database every time
            logger.warning("root-cause model id not cached (%s)", exc)
            cached = None
        if cached is not None:
            return str(cached)
        newest = RootCauseModel.objects.order_by("-created_at", "-id").values_list("id", flat=True).first()
        _publish_model_id(newest)
        return str(newest or 0)

    def bump(self) -> None:
        _publish_model_id(RootCauseModel.objects.order_by("-created_at", "-id").values_list("id", flat=True).first())


def _publish_model_id(model_id: int | None) -> None:
    from django.core.cache import cache

    try:
        cache.set(MODEL_KEY, model_id or 0, MODEL_KEY_SECONDS)
    except Exception as exc:  # noqa: BLE001
        logger.warning("could not publish the root-cause model id (%s)", exc)


def _load_pipeline():
    newest = int(_newest.current())
    blob = RootCauseModel.objects.filter(pk=newest).values_list("blob", flat=True).first() if newest else None
    if blob is None:
        return None
    try:
        return suggest_store.loads(bytes(blob), build_pipeline)
    except suggest_store.ModelFormatError as exc:  # a pickle, an old or damaged row: never run, never used
        logger.error("root-cause model refused", extra={"model_id": newest, "why": str(exc)})
        return None
    except Exception:  # noqa: BLE001 - a model that will not load means "no suggestion"
        logger.exception("root-cause model %s could not be loaded", newest)
        return None


_newest = _NewestModel()
# Checked on every suggestion (a cache read): a newly trained model is used at once.
_pipelines = ProcessCache(_newest, _load_pipeline, check_seconds=lambda: 0, what="root-cause model")


def current_pipeline():
    """The newest stored model's pipeline, loaded once per process and reloaded when a newer one
    is published (the check is a cache read, or one indexed query for an id). None when there is
    none or it cannot be loaded (say, stored by an incompatible scikit-learn): no suggestion then."""
    return _pipelines.get()


def rank(pipeline, row: dict) -> list[tuple[int, float]]:
    """(root cause id, probability) for one case, most probable first."""
    with _threads().limit(limits=1):
        probabilities = pipeline.predict_proba([row])[0]
    order = np.argsort(-probabilities)
    return [(int(pipeline.classes_[i]), float(probabilities[i])) for i in order]


def active_root_causes() -> dict[int, RootCause]:
    """The root causes a person may choose (and be offered), with their category: one query."""
    # Every column of both, built by core.lean (the case page's close form and the bulk panel
    # read them on every view): the same instances select_related("category") made; the
    # statement compiled once per process (core.compiled).
    using = router.db_for_read(RootCause)
    rows = compiled_values(("cases.active_root_causes",), _active_root_causes_query, {}, using=using)
    return {cause.pk: cause for cause in lean_instances(RootCause, rows, _ROOT_CAUSE_FIELDS, using=using)}


_ROOT_CAUSE_FIELDS = (*(f.attname for f in RootCause._meta.concrete_fields),
                      *(f"category__{f.attname}" for f in RootCauseCategory._meta.concrete_fields if not f.primary_key))


def _active_root_causes_query(args: dict):
    return (RootCause.objects.filter(active=True, category__active=True)
            .order_by("category__order", "category__name", "name").values(*_ROOT_CAUSE_FIELDS))


def suggest_root_causes(case: Case, *, k: int = 3, themes=None, causes: dict | None = None) -> list[Suggestion]:
    """Up to k active root causes for this case, best first, each at least
    ROOT_CAUSE_MIN_CONFIDENCE likely. [] without a trained model. `causes` (from
    active_root_causes(), which the close form loads anyway) saves a query."""
    pipeline = current_pipeline()
    if pipeline is None:
        return []
    floor = settings.ROOT_CAUSE_MIN_CONFIDENCE
    ranked = [(cause_id, p) for cause_id, p in rank(pipeline, case_features(case, themes=themes)) if p >= floor]
    if not ranked:
        return []
    active = causes if causes is not None else active_root_causes()
    suggestions = [Suggestion(active[cause_id], p) for cause_id, p in ranked if cause_id in active]
    return suggestions[:k]
