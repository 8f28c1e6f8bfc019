"""Theme discovery (`discover`): proposing themes from recent comments no active theme matches.

TF-IDF (English stop words, words and two-word phrases) and NMF from scikit-learn over the most
recent THEME_DISCOVERY_COMMENTS English comments that match no active theme; each NMF component
with enough comments becomes a proposed theme (keywords = its top terms, name = its two top
terms, examples = its most typical comments), skipping any whose keywords repeat an existing
theme's (proposed, active, retired or rejected: a rejected theme is never proposed again).
Deterministic (fixed random_state, deterministic initialisation). Proposals are stored through
surveys.services.themes.theme_propose."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from surveys.services.themes import theme_propose
from surveys.text import keyword_key, load_theme_matcher, normalize_text

logger = logging.getLogger("surveys.text")

MIN_DISCOVERY_COMMENTS = 40  # fewer than this: no proposal (clusters of a handful are noise)
MIN_THEME_SHARE = 0.03  # a proposal must be the main topic of at least this share of the comments...
MIN_THEME_COMMENTS = 4  # ...and of at least this many comments
TOP_TERMS = 5
EXAMPLES = 3
SAME_KEYWORDS_OVERLAP = 0.5  # keyword sets overlapping this much (Jaccard) count as the same theme


@dataclass
class Discovery:
    """What a discovery run did: the proposed themes, how many comments it read, and why it
    proposed nothing when it did not."""

    themes: list = field(default_factory=list)
    comments: int = 0
    reason: str = ""

    def describe(self) -> str:
        if self.themes:
            names = ", ".join(f"“{t.name}”" for t in self.themes)
            return f"Proposed {len(self.themes)} theme{'s' if len(self.themes) != 1 else ''} from " \
                   f"{self.comments} comments: {names}."
        return self.reason or f"Read {self.comments} comments; nothing new to propose."


def _recent_untagged_comments(limit: int, now: dt.datetime) -> list[str]:
    from django.db.models import Q

    from surveys.models import SurveyResponse

    matcher = load_theme_matcher()
    rows = (
        SurveyResponse.objects.filter(answered_at__lte=now).exclude(comment="")
        .filter(Q(language="en") | Q(language=""))
        .order_by("-answered_at", "-id").values_list("comment", flat=True)
    )
    comments, scanned = [], 0
    for comment in rows.iterator(chunk_size=2000):
        scanned += 1
        text = comment.strip()
        if text and not matcher.matches_any(text):
            comments.append(text)
            if len(comments) >= limit:
                break
        if scanned >= limit * 4:  # a corpus mostly tagged already: stop reading the whole history
            break
    return comments


def _theme_name(terms: Sequence[str]) -> str:
    first = terms[0]
    second = next((t for t in terms[1:] if t not in first and first not in t), None)
    name = first.capitalize() + (f" / {second}" if second else "")
    return name[:120]


def _overlap(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def discover(*, now: dt.datetime | None = None, comments: Sequence[str] | None = None,
             max_proposals: int | None = None, save: bool = True) -> Discovery:
    """Propose themes from recent untagged comments (or from `comments`, for tests and the
    benchmark). With save=False nothing is written and the themes are unsaved Theme objects."""
    from django.conf import settings
    from django.utils import timezone
    from django.utils.text import slugify

    from surveys.models import Theme

    now = now or timezone.now()
    limit = int(getattr(settings, "THEME_DISCOVERY_COMMENTS", 5000))
    max_proposals = max_proposals if max_proposals is not None else int(
        getattr(settings, "THEME_DISCOVERY_MAX_PROPOSALS", 8))
    corpus = list(comments) if comments is not None else _recent_untagged_comments(limit, now)
    result = Discovery(comments=len(corpus))
    if max_proposals <= 0:
        result.reason = "THEME_DISCOVERY_MAX_PROPOSALS is 0: discovery is off."
        return result
    if len(corpus) < MIN_DISCOVERY_COMMENTS:
        result.reason = (f"Only {len(corpus)} recent comment{'s' if len(corpus) != 1 else ''} match no active theme; "
                         f"discovery needs at least {MIN_DISCOVERY_COMMENTS}, so it proposed nothing.")
        logger.info("theme discovery: %s", result.reason)
        return result

    import numpy as np
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words="english", ngram_range=(1, 2), min_df=3, max_df=0.4, sublinear_tf=True,
        token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b", preprocessor=normalize_text, max_features=20000,
    )
    try:
        matrix = vectorizer.fit_transform(corpus)
    except ValueError:  # every word is a stop word or too rare
        result.reason = f"The {len(corpus)} comments share no words often enough to form a theme."
        return result
    terms = vectorizer.get_feature_names_out()
    components = max(2, min(max_proposals * 2, matrix.shape[1] - 1, len(corpus) // 10))
    if matrix.shape[1] < 3:
        result.reason = f"The {len(corpus)} comments share too few words to form a theme."
        return result
    model = NMF(n_components=components, init="nndsvd", random_state=0, max_iter=400)
    weights = model.fit_transform(matrix)
    main_topic = weights.argmax(axis=1)
    has_topic = weights.max(axis=1) > 0
    minimum = max(MIN_THEME_COMMENTS, int(MIN_THEME_SHARE * len(corpus)))

    existing = [(keyword_key(t.keywords), t.slug, t.name.lower()) for t in
                Theme.objects.only("keywords", "slug", "name")]
    candidates = []
    for topic in range(components):
        members = np.flatnonzero((main_topic == topic) & has_topic)
        if len(members) < minimum:
            continue
        order = model.components_[topic].argsort()[::-1]
        top = [terms[i] for i in order[:TOP_TERMS] if model.components_[topic][i] > 0]
        if len(top) < 2:
            continue
        typical = members[weights[members, topic].argsort()[::-1][:EXAMPLES]]
        candidates.append((len(members), top, [corpus[i][:300] for i in typical]))
    candidates.sort(key=lambda c: (-c[0], c[1]))

    proposed: list[Theme] = []
    for size, top, examples in candidates:
        if len(proposed) >= max_proposals:
            break
        key = keyword_key(top)
        name = _theme_name(top)
        slug = slugify(name)[:140]
        if any(_overlap(key, other) >= SAME_KEYWORDS_OVERLAP or slug == other_slug or name.lower() == other_name
               for other, other_slug, other_name in existing):
            continue
        theme = Theme(
            name=name, slug=slug, keywords=list(top), status=Theme.Status.PROPOSED, origin=Theme.Origin.DISCOVERED,
            examples=examples,
            description=f"Discovered {now:%Y-%m-%d}: the main topic of {size} of {len(corpus)} recent comments "
                        "that matched no theme.",
        )
        existing.append((key, slug, name.lower()))
        proposed.append(theme)
    if save and proposed:
        proposed = [theme_propose(theme=theme) for theme in proposed]
    result.themes = proposed
    if not proposed:
        result.reason = (f"Read {len(corpus)} comments that match no active theme; every topic found repeats an "
                         "existing, proposed or rejected theme, or is too small.")
    logger.info("theme discovery: %s", result.describe())
    return result


def discover_themes(now: dt.datetime | None = None) -> list:
    """Propose up to THEME_DISCOVERY_MAX_PROPOSALS themes (status proposed, origin discovered)
    from recent comments no active theme matches; returns them ([] with the reason logged when
    there are too few comments or nothing new)."""
    return discover(now=now).themes
