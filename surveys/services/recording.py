"""Recording a normalized response (an adapter's output): its customer and survey found or
created, its sentiment, language and themes, the SurveyResponse row, and the signals that let
alerts and cases act on it in the same transaction.

A partial response (a tool's unfinished answer: Formbricks `finished: false`, a Typeform
`form_response_partial`) is recorded like any other, with `partial=True`, and judged by its score
at once. A later, more complete version of it (the finished one, or a partial with more answers)
updates that same row (`response_complete`): fields, scores, `partial`; the alert rules run again
over it (Recorded.is_new False), so a rule only the new answers meet raises its alert, while an
alert raised before is not raised twice and the case it opened is the case (never a second one)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from core.unit_of_work import insert, insert_all, is_staged
from surveys.models import FeedbackKind, ResponseTheme, Survey, SurveyResponse, WebhookDelivery, WebhookSource
from surveys.normalized import NormalizedResponse
from surveys.services.customers import customer_find_or_create
from surveys.services.lookups import RecordLookups
from surveys.signals import Recorded, response_recorded, response_recording
from surveys.text import active_theme_matcher, analyse, response_score_sentiment
from surveys.text.language import vendor_language


class InvalidResponse(ValueError):
    """A normalized response that cannot be stored (a score off its scale); says what to fix."""


class CompletedInBatch(Exception):
    """A partial response and its more complete version in one batch: the batch is recorded again
    one delivery at a time (surveys.services.processing), so the second finds the first stored and
    completes it, with the alerts of each version raised once."""


def response_analyse(response: SurveyResponse) -> list:
    """Fill a response's sentiment, sentiment_source and language from its comment (surveys.text)
    and return the active themes its comment is about (ThemeFound list). Writes nothing."""
    result = analyse(response.comment, fallback_score=response_score_sentiment(response))
    response.sentiment, response.sentiment_source, response.language = (
        result.sentiment, result.sentiment_source, result.language)
    return active_theme_matcher().match(response.comment) if result.language else []


def _response_store_themes(response: SurveyResponse, found: list) -> frozenset[int]:
    """The response's theme links (a new response: no links yet); returns their theme ids, for
    the Recorded announced right after (alert evaluation then needs no query)."""
    if found:
        insert_all([
            ResponseTheme(response=response, theme_id=f.theme_id, matches=list(f.matches),
                          answered_at=response.answered_at)
            for f in found
        ], ignore_conflicts=True)
    return frozenset(f.theme_id for f in found)


def response_tags_follow(response: SurveyResponse) -> int:
    """Give the response's theme tags its answer time again after it changed (a later version of a
    partial response, an admin's correction). A tag carries a copy of its response's answered_at,
    which the theme reports' date ranges read on both tables (reporting.selectors.themes, journeys):
    a tag whose copy drifted would fall out of its period. Returns the tags moved; the theme
    rollup's triggers move their counts."""
    return (ResponseTheme.objects.filter(response_id=response.pk).exclude(answered_at=response.answered_at)
            .update(answered_at=response.answered_at))


def feedback_kind_of(source: WebhookSource, normalized: NormalizedResponse) -> str:
    """The delivery's own kind (a `feedback_kind` attribute naming one), else its source's."""
    named = str(normalized.attributes.get("feedback_kind", "")).strip().lower()
    return named if named in FeedbackKind.values else source.feedback_kind


def _validate(normalized: NormalizedResponse, kind: str) -> None:
    if not normalized.scores and not FeedbackKind.unsolicited(kind):
        raise InvalidResponse("The response has no score.")
    if not normalized.scores and not normalized.comment.strip():
        raise InvalidResponse("Neither a rating nor a text: feedback needs at least one.")
    for score in normalized.scores:
        if not score.scale_min <= score.value <= score.scale_max:
            raise InvalidResponse(f"{score.key} {score.value} is outside its {score.scale_min}–{score.scale_max} scale.")
        if score.metric == "nps" and (score.value != int(score.value) or (score.scale_min, score.scale_max) != (0, 10)):
            raise InvalidResponse(f"NPS must be a whole number from 0 to 10, got {score.value}.")


# No savepoint of its own: it runs inside the caller's transaction (a failure rolls back the whole
# delivery, as it must), and a savepoint here would cost two round trips per response.
@transaction.atomic(savepoint=False)
def response_record(
    *, source: WebhookSource, normalized: NormalizedResponse, delivery: WebhookDelivery | None = None,
    lookups: RecordLookups | None = None,
) -> tuple[SurveyResponse, bool]:
    """Store one normalized response (customer and survey found or created) and announce it.

    A response stored before (same source and response id) returns the stored one with
    created=False: a partial one is completed by a more complete version (`response_complete`,
    which runs the alert rules again); otherwise nothing is announced and only a comment the first
    delivery did not have is filled (Delighted sends the score first and the comment in a later
    `survey_response.updated`). `lookups`: what a batch read up front (deliveries_process),
    consulted instead of a query per row."""
    key = (source.pk, normalized.response_id)
    if lookups is not None:
        existing = lookups.responses.get(key)
    else:
        existing = SurveyResponse.objects.filter(source=source, external_id=normalized.response_id).first()
    if existing is not None:
        return _response_again(existing, normalized, key=key, lookups=lookups), False
    kind = feedback_kind_of(source, normalized)
    _validate(normalized, kind)
    customer = customer_find_or_create(normalized.customer, lookups=lookups)
    survey = survey_find_or_create(source=source, external_id=normalized.survey_id, name=normalized.survey_name,
                                   lookups=lookups)
    response = SurveyResponse(
        source=source, survey=survey, customer=customer, external_id=normalized.response_id,
        answered_at=normalized.answered_at, comment=normalized.comment,
        touchpoint=normalized.touchpoint, channel=normalized.channel, location=normalized.location,
        region=normalized.region, attributes=normalized.attributes, scores={}, partial=normalized.partial,
        feedback_kind=kind,
    )
    _response_set_scores(response, normalized)
    themes = response_analyse(response)  # before the signal: alert rules read sentiment and themes
    response.language = vendor_language(normalized.attributes) or response.language
    response_recording.send(sender=SurveyResponse, response=response)  # cases sets its team: one INSERT
    if lookups is not None and lookups.optimistic:
        insert(response)  # a lost race aborts the transaction: the delivery is recorded again, carefully
    else:
        try:
            with transaction.atomic():
                response.save()
        except IntegrityError:  # recorded meanwhile by another worker (or earlier than a batch's reads)
            existing = SurveyResponse.objects.filter(source=source, external_id=normalized.response_id).first()
            if existing is None:
                raise
            return _response_again(existing, normalized, key=key, lookups=None), False
    theme_ids = _response_store_themes(response, themes)
    # New: no alert, case or recognition of it can exist yet, so the receivers need not look.
    response_recorded.send(sender=SurveyResponse, recorded=Recorded(response=response, theme_ids=theme_ids,
                                                                     identity=normalized.customer))
    if lookups is not None:
        lookups.stage("responses", key, response)
    return response, True


def _response_set_scores(response: SurveyResponse, normalized: NormalizedResponse) -> None:
    """The response's `scores` and its typed NPS, CSAT and CES columns from the normalized scores."""
    response.scores = {}
    response.nps = response.csat = response.ces = None
    response.csat_scale_min = response.csat_scale_max = response.ces_scale_min = response.ces_scale_max = None
    response.ces_high_is_easy = None
    for score in normalized.scores:
        response.scores[score.key] = {
            "metric": score.metric, "value": float(score.value), "min": score.scale_min, "max": score.scale_max,
            "higher_is_better": score.higher_is_better,
        }
        if score.metric == "nps" and response.nps is None:
            response.nps = int(score.value)
        elif score.metric == "csat" and response.csat is None:
            response.csat, response.csat_scale_min, response.csat_scale_max = score.value, score.scale_min, score.scale_max
        elif score.metric == "ces" and response.ces is None:
            response.ces, response.ces_scale_min, response.ces_scale_max = score.value, score.scale_min, score.scale_max
            response.ces_high_is_easy = score.higher_is_better


def _answered(scores: int, comment: str) -> int:
    return scores + (1 if comment else 0)


def _response_again(existing: SurveyResponse, normalized: NormalizedResponse, *, key, lookups) -> SurveyResponse:
    """A response recorded before, delivered again. A partial one is completed by a more complete
    version (`response_complete`); otherwise only a comment the first delivery lacked is filled
    (Delighted sends the score first and the comment in a later `survey_response.updated`)."""
    if existing.partial:
        if is_staged(existing):  # its partial version was recorded earlier in this same batch
            raise CompletedInBatch(f"response {normalized.response_id!r} completed within one batch")
        completed = response_complete(existing, normalized)
        if lookups is not None and completed is not existing:
            lookups.stage("responses", key, completed)
        return completed
    _response_fill_comment(existing, normalized)
    return existing


# Fields a later version of a partial response replaces (the response's own answers and context;
# its source, survey and external id stay, and its customer is only filled when it had none).
COMPLETED_FIELDS = (
    "answered_at", "comment", "touchpoint", "channel", "location", "region", "attributes", "scores", "nps", "csat",
    "csat_scale_min", "csat_scale_max", "ces", "ces_scale_min", "ces_scale_max", "ces_high_is_easy", "partial",
    "sentiment", "sentiment_source", "language", "customer",
)


def response_complete(existing: SurveyResponse, normalized: NormalizedResponse) -> SurveyResponse:
    """Update a stored partial response from a later version of it, when that version is finished
    or has at least as many answers; then run the alert rules over it again. Returns the row as it
    is now (unchanged when the stored one is finished already or the new version is less complete:
    deliveries may arrive out of order). The row is locked while it is decided, so two workers
    completing it at once apply one version after the other."""
    current = (SurveyResponse.objects.select_for_update(of=("self",)).select_related("customer")
               .filter(pk=existing.pk).first())
    if current is None:
        raise InvalidResponse(f"Response {normalized.response_id!r} was deleted while it was being completed.")
    if not current.partial or (normalized.partial and _answered(len(normalized.scores), normalized.comment)
                               < _answered(len(current.scores or {}), current.comment)):
        _response_fill_comment(current, normalized)
        return current
    _validate(normalized, current.feedback_kind)
    if current.customer_id is None:
        current.customer = customer_find_or_create(normalized.customer)
    answered_before = current.answered_at
    for name in ("answered_at", "touchpoint", "channel", "location", "region"):
        value = getattr(normalized, name)
        if value:
            setattr(current, name, value)
    current.attributes = {**(current.attributes or {}), **normalized.attributes}
    current.comment = normalized.comment or current.comment
    current.partial = normalized.partial
    _response_set_scores(current, normalized)
    themes = response_analyse(current)
    current.language = vendor_language(current.attributes) or current.language
    current.save(update_fields=list(COMPLETED_FIELDS))
    if current.answered_at != answered_before:
        response_tags_follow(current)
    before = set(ResponseTheme.objects.filter(response_id=current.pk).values_list("theme_id", flat=True))
    theme_ids = frozenset(before) | _response_store_themes(current, [f for f in themes if f.theme_id not in before])
    response_recorded.send(sender=SurveyResponse, recorded=Recorded(response=current, theme_ids=theme_ids,
                                                                     is_new=False, identity=normalized.customer))
    return current


def _response_fill_comment(response: SurveyResponse, normalized: NormalizedResponse) -> None:
    if normalized.comment and not response.comment:
        response.comment = normalized.comment
        themes = response_analyse(response)
        if is_staged(response):  # recorded earlier in this batch, not inserted yet: it carries the comment
            _response_store_themes(response, themes)
            return
        filled = SurveyResponse.objects.filter(pk=response.pk, comment="").update(
            comment=response.comment, sentiment=response.sentiment, sentiment_source=response.sentiment_source,
            language=response.language,
        )
        if filled:
            _response_store_themes(response, themes)
        response.refresh_from_db(fields=["comment", "sentiment", "sentiment_source", "language"])


def survey_find_or_create(*, source: WebhookSource, external_id: str, name: str,
                          lookups: RecordLookups | None = None) -> Survey:
    for attempt in range(3):
        if lookups is not None and attempt == 0:
            survey = lookups.surveys.get((source.pk, external_id))
        else:
            survey = Survey.objects.filter(source=source, external_id=external_id).first()
        if survey is not None:
            if name and survey.name != name and survey.name == survey.external_id:
                Survey.objects.filter(pk=survey.pk).update(name=name)
                survey.name = name
            return survey
        try:
            with transaction.atomic():
                survey = Survey.objects.create(source=source, external_id=external_id, name=name or external_id)
            if lookups is not None:
                lookups.stage("surveys", (source.pk, external_id), survey)
            return survey
        except IntegrityError:
            continue
    raise IntegrityError(f"Could not find or create survey {external_id!r}")
