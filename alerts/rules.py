"""Does this response breach these rules? Pure functions over plain, immutable compiled rules.

`compile_rule` turns an AlertRule row (saved or a draft) into a `CompiledRule` once: keyword
patterns normalized (case- and accent-insensitive, whole words and phrases), value lists folded
into sets, surveys into an id set, and the threshold into a [lo, hi] interval on the rule's scale.
`RuleSet` holds compiled rules in evaluation order with an index by metric and scale, so
`evaluate(response, rules)` only looks at rules whose metric the response has.

`evaluate` makes no queries and writes nothing: same response and rules, same answer. It reads
from the response: nps, csat (+ csat_scale_min/max), ces (+ ces_scale_min/max, ces_high_is_easy),
scores, comment, sentiment, survey_id, touchpoint, channel, location, region, and the customer's
tier and segment (`customer_tier`/`customer_segment` attributes when present, otherwise
`response.customer`, which the caller loads).

Semantics worth knowing:
- A threshold is on the question's own scale. A response that lacks the metric, or whose
  question is on another scale than the rule's (CSAT 1-10 against a 1-5 rule), does not match.
- CES direction: a rule says which way its scale runs (`ces_high_is_easy`); a response from a
  source with the other direction is flipped (min + max - value) before comparing, so "high
  effort" means high effort whichever way the survey asked.
- Sentiment: VADER's compound score (response.sentiment, or computed here from the comment when
  missing) in surveys.vocabulary's bands: <= -0.05 negative, >= 0.05 positive (VADER's convention).
- Themes: "the comment is about any of these themes" reads the `theme_ids` passed to `evaluate`
  (a frozenset of surveys.Theme ids): alerts.services takes them from the surveys.signals.Recorded
  it receives (a response loaded from the database builds one with one query), alerts.backtest
  loads them per chunk, so evaluation stays free of queries. Without `theme_ids` a response is
  about no theme.
- Segments: "the customer is in any of these named segments" runs each segment's predicate
  (segments.conditions.compile_segment) over a `CustomerFacts` snapshot: the `customer` passed to
  `evaluate` (alerts.services builds it, with the customer's account values when a segment reads
  them), otherwise one made from `response.customer`. A response without a customer is in no
  segment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from alerts.reasons import plain_number, score_reason
from alerts.validation import DEFAULT_SCALES, NPS_SCALE, effective_scale
from segments.conditions import CompiledSegment, CustomerFacts
from segments.selectors import compiled as compiled_segment
from surveys.text import keyword_pattern, normalize_text, vader_compound
from surveys.vocabulary import NEGATIVE_AT_MOST, POSITIVE_AT_LEAST, sentiment_band

INF = float("inf")


# --- text -----------------------------------------------------------------------------------
# normalize_text, keyword_pattern and vader_compound live in surveys.text (themes match comments
# the way keyword conditions do); they are re-exported here for the rules' callers.


def fold(value: str) -> str:
    """How list conditions compare values (touchpoint, channel, location, tier, segment)."""
    return " ".join(normalize_text(value or "").split())


# --- compiled rules -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """An AlertRule reduced to what evaluation needs. `lo <= value <= hi` is the score test."""

    id: int | None
    name: str
    order: int
    action: str
    stop_processing: bool
    case_priority: str
    metric: str
    metric_key: str
    operator: str
    threshold: float
    threshold_high: float | None
    scale: tuple[int, int]
    ces_high_is_easy: bool
    slot: str
    lo: float
    hi: float
    surveys: frozenset | None = None
    survey_names: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    touchpoints: frozenset | None = None
    channels: frozenset | None = None
    locations: frozenset | None = None
    tiers: frozenset | None = None
    segments: frozenset | None = None
    keywords: tuple[str, ...] = ()
    keyword_mode: str = "any"
    keyword_res: tuple[re.Pattern, ...] = ()
    keyword_any_re: re.Pattern | None = None
    comment_presence: str = ""
    sentiment: str = ""
    themes: frozenset | None = None
    theme_names: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    named_segments: tuple[CompiledSegment, ...] | None = None
    labels: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    has_conditions: bool = False


def _folded_set(values: Iterable[str]) -> frozenset | None:
    folded = frozenset(fold(v) for v in values or () if fold(v))
    return folded or None


def slot_for(metric: str, key: str, scale: tuple[int, int], ces_high_is_easy: bool = True) -> str:
    """The index key a rule is filed under and a response's value is looked up by."""
    if metric == "nps":
        return "nps"
    if metric == "ces":
        return f"ces:{scale[0]}:{scale[1]}:{'easy' if ces_high_is_easy else 'effort'}"
    if metric == "csat":
        return f"csat:{scale[0]}:{scale[1]}"
    return f"custom:{key}:{scale[0]}:{scale[1]}"


def rule_themes(rule) -> list:
    """The themes a rule (saved, or a draft from the editor carrying `draft_themes`) is about."""
    drafted = getattr(rule, "draft_themes", None)
    if drafted is not None:
        return list(drafted)
    return list(rule.themes.all()) if rule.pk else []


def rule_segments(rule) -> list:
    """The named segments a rule (saved, or a draft carrying `draft_segments`) is for."""
    drafted = getattr(rule, "draft_segments", None)
    if drafted is not None:
        return list(drafted)
    return list(rule.segments.all()) if rule.pk else []


def compile_rule(rule, *, survey_ids: Iterable[int] | None = None, survey_names: dict | None = None,
                 theme_ids: Iterable[int] | None = None, theme_names: dict | None = None,
                 segments: Iterable | None = None) -> CompiledRule:
    """Compile one AlertRule (saved, or a draft with `survey_ids` given). The rule is assumed valid
    (alerts.validation.rule_problems); a custom rule without a scale gets 0-10. Themes come from
    `theme_ids` when given, else from the rule (rule_themes)."""
    metric = rule.metric
    scale = effective_scale(metric, rule.scale_min, rule.scale_max) or DEFAULT_SCALES.get(metric, (0, 10))
    low = float(rule.threshold)
    high = float(rule.threshold_high) if rule.threshold_high is not None else None
    if rule.operator == "lte":
        lo, hi = -INF, low
    elif rule.operator == "gte":
        lo, hi = low, INF
    else:
        lo, hi = low, high if high is not None else low
    if survey_ids is None:
        surveys = list(rule.surveys.all()) if rule.pk else []
        survey_ids = [s.pk for s in surveys]
        survey_names = {s.pk: s.name for s in surveys}
    if theme_ids is None:
        themes = rule_themes(rule)
        theme_ids = [t.pk for t in themes]
        theme_names = {t.pk: t.name for t in themes}
    segments = rule_segments(rule) if segments is None else list(segments)
    keywords = tuple(k.strip() for k in rule.keywords or () if k and k.strip())
    patterns = tuple(re.compile(keyword_pattern(k)) for k in keywords)
    any_re = re.compile("|".join(f"(?:{p.pattern})" for p in patterns)) if patterns else None
    originals = {}
    for name in ("touchpoints", "channels", "locations", "customer_tiers", "customer_segments"):
        for value in getattr(rule, name) or ():
            originals[(name, fold(value))] = value
    compiled = CompiledRule(
        id=rule.pk, name=rule.name, order=rule.order, action=rule.action, stop_processing=rule.stop_processing,
        case_priority=rule.case_priority, metric=metric, metric_key=(rule.metric_key or "").strip(),
        operator=rule.operator, threshold=low, threshold_high=high, scale=scale,
        ces_high_is_easy=bool(rule.ces_high_is_easy), slot=slot_for(metric, (rule.metric_key or "").strip(), scale,
                                                                    bool(rule.ces_high_is_easy)),
        lo=lo, hi=hi, surveys=frozenset(survey_ids) or None, survey_names=MappingProxyType(dict(survey_names or {})),
        touchpoints=_folded_set(rule.touchpoints), channels=_folded_set(rule.channels),
        locations=_folded_set(rule.locations), tiers=_folded_set(rule.customer_tiers),
        segments=_folded_set(rule.customer_segments), keywords=keywords, keyword_mode=rule.keyword_mode,
        keyword_res=patterns, keyword_any_re=any_re, comment_presence=rule.comment_presence or "",
        sentiment=rule.sentiment or "", themes=frozenset(theme_ids) or None,
        theme_names=MappingProxyType(dict(theme_names or {})), labels=MappingProxyType(originals),
        named_segments=tuple(compiled_segment(segment) for segment in segments) or None,
    )
    has_conditions = any((compiled.surveys, compiled.touchpoints, compiled.channels, compiled.locations, compiled.tiers,
                          compiled.segments, compiled.keyword_res, compiled.comment_presence, compiled.sentiment,
                          compiled.themes, compiled.named_segments))
    return replace(compiled, has_conditions=has_conditions)


class RuleSet(Sequence):
    """Compiled rules in evaluation order (order, then id), indexed by metric slot. Immutable."""

    __slots__ = ("_rules", "_position", "by_slot", "custom_keys", "has_ces", "has_themes", "has_segments",
                 "segment_accounts", "models")

    def __init__(self, rules: Iterable[CompiledRule], models: Mapping | None = None):
        ordered = tuple(sorted(rules, key=lambda r: (r.order, r.id if r.id is not None else 0)))
        self._rules = ordered
        self._position = {id(rule): i for i, rule in enumerate(ordered)}
        by_slot: dict[str, list] = {}
        for position, rule in enumerate(ordered):
            by_slot.setdefault(rule.slot, []).append((rule.lo, rule.hi, position, rule))
        # slot -> ((lo, hi, position, rule), ...) in evaluation order: the hot loop reads tuples.
        self.by_slot = MappingProxyType({slot: tuple(entries) for slot, entries in by_slot.items()})
        self.custom_keys = tuple(sorted({r.metric_key for r in ordered if r.metric == "custom"}))
        self.has_ces = any(r.metric == "ces" for r in ordered)
        self.has_themes = any(r.themes for r in ordered)  # callers load a response's theme ids only then
        # Callers build a CustomerFacts only then, with the customer's account values only when a
        # segment reads them (one query).
        self.has_segments = any(r.named_segments for r in ordered)
        self.segment_accounts = any(s.needs_accounts for r in ordered for s in r.named_segments or ())
        # id -> the AlertRule it was compiled from (when loaded from the database): an alert can
        # carry its rule without a query (copy it: the instance is shared by the process).
        self.models = MappingProxyType(dict(models or {}))

    def __getitem__(self, index):
        return self._rules[index]

    def __len__(self) -> int:
        return len(self._rules)

    def position(self, rule: CompiledRule) -> int:
        return self._position[id(rule)]


class Match:
    """A rule that matched, and why: `reasons` is a list of codes and values (alerts.reasons says
    them in the reader's language). They are put together on first use (most callers of a
    benchmark-sized batch only count matches)."""

    __slots__ = ("rule", "_facts", "_said", "_reasons")

    def __init__(self, rule: CompiledRule, facts=None, said: dict | None = None, reasons: list[dict] | None = None):
        self.rule, self._facts, self._said, self._reasons = rule, facts, said, reasons

    @property
    def reasons(self) -> list[dict]:
        if self._reasons is None:
            self._reasons = _reasons(self.rule, self._facts, self._said)
        return self._reasons

    def __eq__(self, other) -> bool:
        return isinstance(other, Match) and (self.rule, self.reasons) == (other.rule, other.reasons)

    def __hash__(self) -> int:
        return hash((self.rule.id, json.dumps(self.reasons, sort_keys=True, default=str)))

    def __repr__(self) -> str:
        return f"Match(rule={self.rule.name!r}, reasons={self.reasons!r})"


# --- evaluation -----------------------------------------------------------------------------


def _num(value) -> float | None:
    return None if value is None else float(value)


def _metric_values(response, ruleset: RuleSet) -> list[tuple[str, float, str]]:
    """(slot, value, how to say it) for each metric the response has that some rule reads."""
    found = []
    by_slot = ruleset.by_slot
    nps = response.nps
    if nps is not None and "nps" in by_slot:
        found.append(("nps", float(nps), {"metric": "nps", "value": nps}))
    csat = response.csat
    if csat is not None:
        lo, hi = response.csat_scale_min, response.csat_scale_max
        if lo is None or hi is None:
            lo, hi = DEFAULT_SCALES["csat"]
        slot = f"csat:{lo}:{hi}"
        if slot in by_slot:
            found.append((slot, float(csat), {"metric": "csat", "value": plain_number(csat), "min": lo, "max": hi}))
    ces = response.ces
    if ces is not None and ruleset.has_ces:
        lo, hi = response.ces_scale_min, response.ces_scale_max
        if lo is None or hi is None:
            lo, hi = DEFAULT_SCALES["ces"]
        value = float(ces)
        easy = response.ces_high_is_easy is not False  # undeclared: the usual "7 = easiest"
        as_easy = value if easy else lo + hi - value
        for direction, converted in (("easy", as_easy), ("effort", lo + hi - as_easy)):
            slot = f"ces:{lo}:{hi}:{direction}"
            if slot in by_slot:
                said = {"metric": "ces", "value": plain_number(ces), "min": lo, "max": hi, "easy": easy}
                if (direction == "easy") != easy:
                    said.update(direction=direction, converted=plain_number(converted))
                found.append((slot, converted, said))
    if ruleset.custom_keys:
        scores = response.scores or {}
        for key in ruleset.custom_keys:
            entry = scores.get(key)
            if not isinstance(entry, dict) or entry.get("value") is None:
                continue
            slot = f"custom:{key}:{entry.get('min')}:{entry.get('max')}"
            if slot in by_slot:
                found.append((slot, float(entry["value"]), {"metric": "custom", "key": key, "value": plain_number(entry["value"]),
                                                             "min": entry.get("min"), "max": entry.get("max")}))
    return found


class _Facts:
    """What list, comment and sentiment conditions read from one response. The folded values are
    computed once per response; the normalized text and sentiment on first use."""

    __slots__ = ("response", "survey_id", "touchpoint", "channel", "location", "region", "tier", "segment",
                 "comment", "_text", "_sentiment", "theme_ids", "_customer")

    def __init__(self, response, theme_ids: frozenset[int], customer: CustomerFacts | None = None):
        self.response = response
        self.survey_id = response.survey_id
        self.touchpoint = fold(response.touchpoint)
        self.channel = fold(response.channel)
        self.location = fold(response.location)
        self.region = fold(response.region)
        self.tier = fold(_customer_attr(response, "tier"))
        self.segment = fold(_customer_attr(response, "segment"))
        self.comment = (response.comment or "").strip()
        self._text = None
        self._sentiment = False
        self.theme_ids = theme_ids
        self._customer = customer

    @property
    def customer(self) -> CustomerFacts:
        """What segments read about the customer: the snapshot given, else one from response.customer."""
        if self._customer is None:
            customer = self.response.customer if getattr(self.response, "customer_id", None) is not None else None
            self._customer = CustomerFacts.of(customer) if customer is not None else CustomerFacts()
        return self._customer

    def segments_in(self, segments) -> list[str]:
        return [segment.name for segment in segments if segment.matches(self.customer)]

    def folded(self, name: str) -> str:
        return getattr(self, name)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = normalize_text(self.comment)
        return self._text

    @property
    def sentiment(self) -> float | None:
        if self._sentiment is False:
            stored = getattr(self.response, "sentiment", None)
            if stored is None and getattr(self.response, "language", "") in ("", "en"):
                # Not analysed yet, or English without a stored score: read the comment. A comment
                # analysed as another language has no sentiment without a score to fall back on
                # (VADER reads English only: "vraiment nul" would come out positive).
                stored = vader_compound(self.comment)
            self._sentiment = stored
        return self._sentiment


def _customer_attr(response, name: str) -> str:
    direct = getattr(response, f"customer_{name}", None)
    if direct is not None:
        return direct
    if getattr(response, "customer_id", None) is None:
        return ""
    customer = response.customer
    return getattr(customer, name, "") if customer is not None else ""


def _holds(rule: CompiledRule, facts: _Facts) -> bool:
    """The non-score conditions, cheapest first."""
    if rule.surveys is not None and facts.survey_id not in rule.surveys:
        return False
    if rule.touchpoints is not None and facts.touchpoint not in rule.touchpoints:
        return False
    if rule.channels is not None and facts.channel not in rule.channels:
        return False
    if rule.locations is not None and facts.location not in rule.locations and facts.region not in rule.locations:
        return False
    if rule.tiers is not None and facts.tier not in rule.tiers:
        return False
    if rule.segments is not None and facts.segment not in rule.segments:
        return False
    if rule.named_segments is not None and not any(s.matches(facts.customer) for s in rule.named_segments):
        return False
    if rule.comment_presence and (rule.comment_presence == "with") != bool(facts.comment):
        return False
    if rule.themes is not None and rule.themes.isdisjoint(facts.theme_ids):
        return False
    if rule.keyword_res:
        text = facts.text
        if not text:
            return False
        if rule.keyword_mode == "all":
            for pattern in rule.keyword_res:
                if pattern.search(text) is None:
                    return False
        elif rule.keyword_any_re.search(text) is None:
            return False
    if rule.sentiment:
        score = facts.sentiment
        if score is None or sentiment_band(score) != rule.sentiment:  # surveys.vocabulary's bands
            return False
    return True


def _reasons(rule: CompiledRule, facts: _Facts, said: dict) -> list[dict]:
    """Which conditions matched, as codes and values (alerts.reasons puts them into words in the
    reader's language)."""
    r = facts.response
    reasons = [score_reason(said, rule)]
    if rule.surveys is not None:
        name = rule.survey_names.get(r.survey_id) or getattr(r, "survey_name", None) or f"#{r.survey_id}"
        reasons.append({"code": "survey", "value": name})
    for attr, key in (("touchpoints", "touchpoint"), ("channels", "channel")):
        if getattr(rule, attr) is not None:
            reasons.append({"code": key, "value": rule.labels.get((attr, facts.folded(key)), getattr(r, key))})
    if rule.locations is not None:
        key = "location" if facts.folded("location") in rule.locations else "region"
        reasons.append({"code": key, "value": rule.labels.get(("locations", facts.folded(key)), getattr(r, key))})
    if rule.tiers is not None:
        reasons.append({"code": "tier", "value": _customer_attr(r, "tier")})
    if rule.segments is not None:
        reasons.append({"code": "segment", "value": _customer_attr(r, "segment")})
    if rule.named_segments is not None:
        reasons.append({"code": "in_segments", "names": list(facts.segments_in(rule.named_segments))})
    if rule.comment_presence == "with" and not rule.keyword_res:
        reasons.append({"code": "comment"})
    elif rule.comment_presence == "without":
        reasons.append({"code": "no_comment"})
    if rule.keyword_res:
        found = [k for k, p in zip(rule.keywords, rule.keyword_res) if p.search(facts.text)]
        reasons.append({"code": "keywords", "words": found, "all": rule.keyword_mode == "all"})
    if rule.themes is not None:
        names = sorted(rule.theme_names.get(t, f"#{t}") for t in rule.themes & facts.theme_ids)
        reasons.append({"code": "themes", "names": names})
    if rule.sentiment:
        reasons.append({"code": "sentiment", "band": rule.sentiment, "score": round(facts.sentiment, 2)})
    return reasons


def evaluate(response, rules: Sequence[CompiledRule], *, theme_ids: frozenset[int] = frozenset(),
             customer: CustomerFacts | None = None) -> list[Match]:
    """The rules this response matches, in evaluation order, up to the first one that stops
    evaluation; `theme_ids`: the themes its comment is about; `customer`: what segments read about
    the customer (default: made from response.customer). Pure: no queries, no writes; calling it
    twice gives the same answer."""
    ruleset = rules if isinstance(rules, RuleSet) else RuleSet(rules)
    values = _metric_values(response, ruleset)
    if not values:
        return []
    candidates = []
    append = candidates.append
    by_slot = ruleset.by_slot
    for slot, value, said in values:
        for lo, hi, position, rule in by_slot[slot]:
            if lo <= value <= hi:
                append((position, rule, said))
    if not candidates:
        return []
    if len(values) > 1:
        candidates.sort(key=_first)
    facts = _Facts(response, theme_ids, customer)
    matches = []
    for _, rule, said in candidates:
        if not rule.has_conditions or _holds(rule, facts):
            matches.append(Match(rule, facts, said))
            if rule.stop_processing:
                break
    return matches


def _first(candidate: tuple) -> int:
    return candidate[0]


def rule_matches(response, rule: CompiledRule, *, theme_ids: frozenset[int] = frozenset(),
                 customer: CustomerFacts | None = None) -> bool:
    """One rule on its own (the backtest and tests)."""
    return bool(evaluate(response, RuleSet([rule]), theme_ids=theme_ids, customer=customer))


__all__ = [
    "CompiledRule", "Match", "RuleSet", "compile_rule", "evaluate", "fold", "keyword_pattern", "normalize_text",
    "rule_matches", "rule_segments", "rule_themes", "slot_for", "vader_compound", "NPS_SCALE", "NEGATIVE_AT_MOST", "POSITIVE_AT_LEAST",
]
