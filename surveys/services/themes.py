"""Theme writes: creating, re-wording and deciding on themes (accept, reject, retire,
reactivate), storing discovered proposals, and re-tagging responses when themes change."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.queueing import enqueue_on_commit
from surveys.models import ResponseTheme, SurveyResponse, Theme
from surveys.text import (
    ThemeMatcher, analyse, clean_keywords, keyword_key, response_score_sentiment, themes_changed,
)

# --- Themes ---------------------------------------------------------------------------------
#
# Every theme write goes through here, so the per-process theme cache (surveys.text) always hears
# about it; a theme whose keywords change (or that becomes active) re-tags recent responses in
# the background (retag_responses_task), which also keeps theme volumes and trends honest.

RETAG_DAYS = 365  # how far back a changed or accepted theme re-tags responses


def theme_problems(*, name: str, keywords, status: str = Theme.Status.ACTIVE,
                   exclude_pk: int | None = None) -> dict[str, list[str]]:
    """Why a theme with these values cannot be saved: {field: [message]} (empty when fine).
    The one validator for the theme pages, the API and the services."""
    problems: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    if not name:
        problems.setdefault("name", []).append("Give the theme a name, e.g. “Delivery delays”.")
    elif len(name) > 120:
        problems.setdefault("name", []).append("Keep the name to 120 characters.")
    else:
        others = Theme.objects.exclude(pk=exclude_pk) if exclude_pk else Theme.objects.all()
        clash = others.filter(name__iexact=name).first()
        if clash is not None:
            problems.setdefault("name", []).append(
                f"“{clash.name}” already exists ({clash.get_status_display().lower()}); choose another name"
                + (" or reactivate it." if clash.status in (Theme.Status.RETIRED, Theme.Status.REJECTED) else "."))
    if not isinstance(keywords, (list, tuple)) or not all(isinstance(k, str) for k in keywords):
        problems.setdefault("keywords", []).append("Keywords must be a list of words or phrases.")
        return problems
    for keyword in keywords:
        if keyword.strip() and not any(ch.isalnum() for ch in keyword):
            problems.setdefault("keywords", []).append(f"“{keyword}” has no letters or digits to look for.")
        elif len(keyword) > 100:
            problems.setdefault("keywords", []).append(f"“{keyword[:30]}…” is too long for a keyword (100 characters).")
    if status in (Theme.Status.ACTIVE, Theme.Status.PROPOSED) and not clean_keywords(keywords):
        problems.setdefault("keywords", []).append(
            "Give at least one keyword or phrase (one per line); a theme tags the comments that contain any of them.")
    return problems


def _unique_slug(name: str, exclude_pk: int | None = None) -> str:
    from django.utils.text import slugify

    base = (slugify(name) or "theme")[:130]
    slug, n = base, 2
    while Theme.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _theme_check(theme: Theme) -> None:
    from django.core.exceptions import ValidationError

    problems = theme_problems(name=theme.name, keywords=theme.keywords, status=theme.status, exclude_pk=theme.pk)
    if problems:
        raise ValidationError(problems)


def theme_retag_later(theme_id: int) -> None:
    """After commit, queue the re-tag of the last RETAG_DAYS days of responses for one theme."""
    since = (timezone.now() - timedelta(days=RETAG_DAYS)).isoformat()
    enqueue_on_commit("surveys.tasks.retag_responses_task", since=since, theme_ids=[theme_id],
                      if_down="run `manage.py retag_responses`")


@transaction.atomic
def theme_create(*, name: str, keywords, description: str = "", by=None,
                 status: str = Theme.Status.ACTIVE) -> Theme:
    """A theme written by an admin: active at once (it tags new comments, and recent ones in the
    background) unless `status` says otherwise."""
    theme = Theme(name=" ".join(name.split()), keywords=clean_keywords(keywords), description=description.strip(),
                  status=status, origin=Theme.Origin.ADMIN, decided_at=timezone.now(), decided_by=by)
    _theme_check(theme)
    theme.slug = _unique_slug(theme.name)
    theme.save()
    themes_changed()
    if theme.status == Theme.Status.ACTIVE:
        theme_retag_later(theme.pk)
    return theme


@transaction.atomic
def theme_update(*, theme_id: int, by=None, name: str | None = None, keywords=None,
                 description: str | None = None) -> Theme:
    """Rename or re-word a theme. An active theme keeps its slug (API filters and links go on
    working); a proposed one takes the new name's slug. Changed keywords re-tag recent responses."""
    theme = Theme.objects.select_for_update().get(pk=theme_id)
    old_keywords = keyword_key(theme.keywords)
    if name is not None:
        theme.name = " ".join(name.split())
    if keywords is not None:
        theme.keywords = clean_keywords(keywords)
    if description is not None:
        theme.description = description.strip()
    _theme_check(theme)
    if theme.status == Theme.Status.PROPOSED and name is not None:
        theme.slug = _unique_slug(theme.name, exclude_pk=theme.pk)
    theme.save()
    themes_changed()
    if theme.status == Theme.Status.ACTIVE and keyword_key(theme.keywords) != old_keywords:
        theme_retag_later(theme.pk)
    return theme


def theme_propose(*, theme: Theme) -> Theme:
    """Store a discovered theme as a proposal (it tags nothing until an admin accepts it)."""
    theme.status, theme.origin = Theme.Status.PROPOSED, Theme.Origin.DISCOVERED
    theme.slug = _unique_slug(theme.name)
    try:
        with transaction.atomic():
            theme.save()
    except IntegrityError:  # another run proposed the same name meanwhile
        return Theme.objects.get(name=theme.name)
    return theme


class ThemeTransitionError(ValueError):
    """A theme decision that does not apply to the theme's current status; says why."""


_DECISIONS = {  # decision: (from statuses, to status, past participle)
    "accept": ({Theme.Status.PROPOSED}, Theme.Status.ACTIVE, "accepted"),
    "reject": ({Theme.Status.PROPOSED}, Theme.Status.REJECTED, "rejected"),
    "retire": ({Theme.Status.ACTIVE}, Theme.Status.RETIRED, "retired"),
    "reactivate": ({Theme.Status.RETIRED, Theme.Status.REJECTED}, Theme.Status.ACTIVE, "reactivated"),
}


@transaction.atomic
def theme_decide(*, theme_id: int, decision: str, by, name: str | None = None, keywords=None) -> Theme:
    """accept (proposed -> active, optionally renamed or re-worded), reject (proposed -> rejected:
    never proposed again), retire (active -> retired: tags no new comment, its history stays),
    reactivate (retired or rejected -> active). Becoming active re-tags recent responses."""
    if decision not in _DECISIONS:
        raise ThemeTransitionError(f"Unknown decision “{decision}”: use accept, reject, retire or reactivate.")
    allowed, to, done = _DECISIONS[decision]
    theme = Theme.objects.select_for_update().get(pk=theme_id)
    if theme.status not in allowed:
        raise ThemeTransitionError(
            f"“{theme.name}” is {theme.status}; only {' or '.join(sorted(allowed))} themes can be {done}.")
    renamed = name is not None and " ".join(name.split()) != theme.name
    if name is not None:
        theme.name = " ".join(name.split())
    if keywords is not None:
        theme.keywords = clean_keywords(keywords)
    theme.status = to
    _theme_check(theme)
    if renamed and decision == "accept":
        theme.slug = _unique_slug(theme.name, exclude_pk=theme.pk)
    theme.decided_at, theme.decided_by = timezone.now(), by
    theme.save()
    themes_changed()
    if to == Theme.Status.ACTIVE:
        theme_retag_later(theme.pk)
    return theme


# --- Re-tagging -----------------------------------------------------------------------------


class RetagResult:
    """What a re-tag changed: responses read, theme links added, removed and re-worded, and
    (with sentiment=True) responses whose sentiment or language changed."""

    __slots__ = ("scanned", "added", "removed", "updated", "sentiment_updated")

    def __init__(self):
        self.scanned = self.added = self.removed = self.updated = self.sentiment_updated = 0

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def __str__(self) -> str:
        text = (f"{self.scanned} responses read: {self.added} theme tags added, {self.removed} removed, "
                f"{self.updated} with other matched words")
        return text + (f"; {self.sentiment_updated} sentiments updated" if self.sentiment_updated else "")


SENTIMENT_COLUMNS = ("nps", "csat", "csat_scale_min", "csat_scale_max", "ces", "ces_scale_min", "ces_scale_max",
                     "ces_high_is_easy", "sentiment", "sentiment_source", "language")


def responses_retag(*, since=None, until=None, theme_ids=None, sentiment: bool = False, batch_size: int = 1000,
                    progress=None) -> RetagResult:
    """Bring responses' theme links in line with the active themes (all of them, or `theme_ids`):
    links are added, removed or get their matched words updated. Links to themes that are not
    active (retired: history) are left alone. With sentiment=True the sentiment, its source and
    the language are recomputed too. Idempotent, in batches of `batch_size` responses (each in its
    own transaction, keyed by id so rows recorded meanwhile are simply picked up or not);
    `progress(n)` is called after each batch with the number of responses it read."""
    from types import SimpleNamespace

    themes = Theme.objects.filter(status=Theme.Status.ACTIVE)
    if theme_ids is not None:
        themes = themes.filter(pk__in=list(theme_ids))
    matcher = ThemeMatcher(themes.values_list("id", "name", "slug", "keywords"))
    considered = list(matcher.ids)
    result = RetagResult()
    if not considered and not sentiment:
        return result
    responses = SurveyResponse.objects.all()
    if since is not None:
        responses = responses.filter(answered_at__gte=since)
    if until is not None:
        responses = responses.filter(answered_at__lt=until)
    columns = ("id", "comment", "answered_at") + (SENTIMENT_COLUMNS if sentiment else ())
    last_id = 0
    while True:
        rows = list(responses.filter(id__gt=last_id).order_by("id").values(*columns)[:batch_size])
        if not rows:
            break
        last_id = rows[-1]["id"]
        with transaction.atomic():
            _retag_batch(rows, matcher, considered, result)
            if sentiment:
                changed = []
                for row in rows:
                    row_ns = SimpleNamespace(**row)
                    text = analyse(row["comment"], fallback_score=response_score_sentiment(row_ns))
                    if (text.sentiment, text.sentiment_source, text.language) != (
                            row["sentiment"], row["sentiment_source"], row["language"]):
                        changed.append(SurveyResponse(id=row["id"], sentiment=text.sentiment,
                                                      sentiment_source=text.sentiment_source, language=text.language))
                if changed:
                    SurveyResponse.objects.bulk_update(changed, ["sentiment", "sentiment_source", "language"])
                    result.sentiment_updated += len(changed)
        result.scanned += len(rows)
        if progress is not None:
            progress(len(rows))
    return result


def _retag_batch(rows: list[dict], matcher, considered: list[int], result: RetagResult) -> None:
    if not considered:
        return
    ids = [row["id"] for row in rows]
    existing = {
        (link.response_id, link.theme_id): link
        for link in ResponseTheme.objects.filter(response_id__in=ids, theme_id__in=considered)
        .only("id", "response_id", "theme_id", "matches")
    }
    to_add, to_update, keep = [], [], set()
    for row in rows:
        for found in matcher.match(row["comment"]):
            key = (row["id"], found.theme_id)
            keep.add(key)
            link = existing.get(key)
            if link is None:
                to_add.append(ResponseTheme(response_id=row["id"], theme_id=found.theme_id,
                                            matches=list(found.matches), answered_at=row["answered_at"]))
            elif link.matches != list(found.matches):
                link.matches = list(found.matches)
                to_update.append(link)
    stale = [link.pk for key, link in existing.items() if key not in keep]
    if stale:
        result.removed += ResponseTheme.objects.filter(pk__in=stale).delete()[0]
    if to_add:
        ResponseTheme.objects.bulk_create(to_add, ignore_conflicts=True)
        result.added += len(to_add)
    if to_update:
        ResponseTheme.objects.bulk_update(to_update, ["matches"])
        result.updated += len(to_update)
