"""Vendor defaults plus a source's mapping -> a validated NormalizedResponse: what a mapping may
say (and every problem with one, as sentences a person can act on), the scores it picks, and the
response it assembles. Pure functions only; parsing and reading values is surveys.adapters.common."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from surveys.adapters.common import MappingError, lookup, parse_scale, present, text, to_datetime, to_decimal
from surveys.adapters.picking import MISSING, UnknownLabel, apply_value_map, parse_value_map
from surveys.normalized import CustomerIdentity, NormalizedResponse, Score


METRIC_DEFAULT_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "custom": (0, 10)}
METRIC_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "custom": "Score"}
TEXT_FIELDS = ("response_id", "survey_id", "survey_name", "comment", "touchpoint", "channel", "location", "region")
CUSTOMER_FIELDS = ("external_id", "email", "name", "phone", "tier", "segment", "account_value")
MAPPING_KEYS = (
    TEXT_FIELDS + CUSTOMER_FIELDS + ("answered_at", "nps", "csat", "csat_scale", "ces", "ces_scale", "ces_direction")
    + ("nps_values", "csat_values", "ces_values")
)
# How a direction is written -> is the highest answer the best (the easiest, for CES)?
CES_DIRECTIONS = {"high_is_easy": True, "higher_is_better": True, "low_is_easy": False, "lower_is_better": False}
SCORE_DIRECTIONS = {"high_is_better": True, "higher_is_better": True, "low_is_better": False, "lower_is_better": False}
SCORE_SUFFIXES = ("scale", "direction", "values")


@dataclass
class ScoreSpec:
    metric: str
    key: str
    raw: Any
    scale: tuple[int, int] | None = None
    higher_is_better: bool = True


def mapping_problems(mapping: Any) -> dict[str, list[str]]:
    """What is wrong with a mapping, by mapping key ("" for the mapping as a whole); empty when
    it is usable. Every message says what to write instead."""
    from surveys.adapters.picking import PathSyntaxError, path_tokens

    if not isinstance(mapping, dict):
        return {"": ["The mapping must be a JSON object of field -> path."]}
    problems: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    for key, value in mapping.items():
        parts = str(key).split(".")
        if parts[0] == "score" and len(parts) in (2, 3) and parts[1] and (len(parts) == 2 or parts[2] in SCORE_SUFFIXES):
            kind = parts[2] if len(parts) == 3 else "path"
            if kind != "path" and f"score.{parts[1]}" not in mapping:
                add(key, f"score.{parts[1]} is not mapped: map the question first (score.{parts[1]}=<path>).")
        elif parts[0] == "attr" and len(parts) >= 2 and all(parts[1:]):
            kind = "path"
        elif key in MAPPING_KEYS:
            kind = key.rsplit("_", 1)[1] if key.endswith(("_scale", "_values", "_direction")) else "path"
        else:
            add(key, f"Unknown mapping key {key!r}: use one of {', '.join(MAPPING_KEYS)}, score.<key>[.scale|.direction"
                     "|.values] or attr.<name>.")
            continue
        if kind == "values":
            try:
                parse_value_map(value)
            except ValueError as exc:
                add(key, f"The value map {exc}")
            continue
        if not isinstance(value, str) or not value.strip():
            add(key, "Must be a non-empty path or =literal.")
        elif kind == "scale":
            try:
                parse_scale(value, (0, 10))
            except MappingError as exc:
                add(key, str(exc))
        elif kind == "direction":
            allowed = CES_DIRECTIONS if key == "ces_direction" else SCORE_DIRECTIONS
            if value.strip().lower() not in allowed:
                add(key, f"{value!r} is not a direction: write {' or '.join(list(allowed)[::2])}.")
        elif not value.startswith("="):
            try:
                path_tokens(value)
            except PathSyntaxError as exc:
                add(key, f"Path {value!r}: {exc}")
    return problems


def validate_mapping(mapping: Any) -> list[str]:
    """Problems with a mapping, as sentences that start with the mapping key they are about
    (empty when it is usable). Every door that saves a mapping calls this (surveys.services.sources)."""
    return [f"{key}: {message}" if key else message
            for key, messages in mapping_problems(mapping).items() for message in messages]


def mapped_value(raw: Any, mapping: dict, values_key: str, label: str) -> Any:
    """`raw` through the mapping's value map `values_key` (if any): a text answer -> its number."""
    if values_key not in mapping or raw is MISSING:
        return raw
    value_map = parse_value_map(mapping[values_key])
    try:
        return apply_value_map(raw, value_map)
    except UnknownLabel as exc:
        raise MappingError(f"{label} answer {str(exc)!r} is not in {values_key} ({', '.join(value_map)}): add it to "
                           "the value map, or map a numeric question.") from None


def build_scores(defaults: list[ScoreSpec], mapping: dict, payload: Any, answers: dict | None) -> list[ScoreSpec]:
    by_key = {spec.key: spec for spec in defaults}
    for metric in ("nps", "csat", "ces"):
        if metric in mapping:
            by_key[metric] = ScoreSpec(metric, metric, lookup(mapping[metric], payload, answers))
        if metric in by_key and metric != "nps" and f"{metric}_scale" in mapping:
            by_key[metric].scale = parse_scale(mapping[f"{metric}_scale"], METRIC_DEFAULT_SCALES[metric])
        if metric in by_key:
            by_key[metric].raw = mapped_value(by_key[metric].raw, mapping, f"{metric}_values", METRIC_LABELS[metric])
    if "ces" in by_key and "ces_direction" in mapping:
        by_key["ces"].higher_is_better = CES_DIRECTIONS.get(mapping["ces_direction"].strip().lower(), True)
    for key, spec in mapping.items():
        parts = key.split(".")
        if parts[0] == "score" and len(parts) == 2:
            raw = mapped_value(lookup(spec, payload, answers), mapping, f"{key}.values", f"Score {parts[1]!r}")
            by_key[parts[1]] = ScoreSpec("custom", parts[1], raw, parse_scale(mapping.get(f"{key}.scale"), (0, 10)))
            direction = mapping.get(f"score.{parts[1]}.direction", "")
            by_key[parts[1]].higher_is_better = SCORE_DIRECTIONS.get(direction.strip().lower(), True)
    return list(by_key.values())


def finalize_score(spec: ScoreSpec) -> Score | None:
    if not present(spec.raw):
        return None
    scale = spec.scale or METRIC_DEFAULT_SCALES[spec.metric]
    label = METRIC_LABELS[spec.metric] if spec.metric != "custom" else f"Score {spec.key!r}"
    value = to_decimal(spec.raw, f"{label} answer")
    if not scale[0] <= value <= scale[1]:
        raise MappingError(f"{label} {value} is outside its {scale[0]}–{scale[1]} scale: check the mapped question and its scale.")
    if spec.metric == "nps" and value != value.to_integral_value():
        raise MappingError(f"NPS {value} is not a whole number from 0 to 10.")
    return Score(spec.metric, spec.key, value, scale[0], scale[1], spec.higher_is_better)


def assemble(
    *,
    payload: Any,
    mapping: dict,
    defaults: dict,
    scores: list[ScoreSpec],
    received_at: datetime,
    answers: dict | None = None,
    attributes: dict | None = None,
    customer_attributes: dict | None = None,
    scores_required: bool = True,
) -> NormalizedResponse:
    """Vendor defaults overridden by the source's mapping -> a validated NormalizedResponse.
    `scores_required=False` (a source of feedback nobody asked for): a text alone will do."""
    mapping = mapping or {}

    def pick(name: str) -> Any:
        if name in mapping:
            return lookup(mapping[name], payload, answers)
        return defaults.get(name, MISSING)

    specs = build_scores(scores, mapping, payload, answers)
    final = tuple(s for s in (finalize_score(spec) for spec in specs) if s is not None)
    if not final and not scores_required:
        if not text(pick("comment")).strip():
            raise MappingError("Neither a rating nor a text: feedback needs at least one. Map comment=<path> to the "
                               "text (and a score, e.g. csat=<path> for a star rating) in the source's mapping.")
    elif not final:
        seen = ", ".join(sorted(answers)[:12]) if answers else ", ".join(_keys(payload)[:12])
        raise MappingError(
            "No score found: nothing in this delivery maps to NPS, CSAT, CES or another numeric question. "
            f"Keys seen: {seen or 'none'}. Map one in the source's mapping (e.g. nps=<path>)."
        )
    response_id = text(pick("response_id"))
    if not response_id:
        raise MappingError("No response id: map response_id to the field that identifies the response.")
    answered_at = to_datetime(pick("answered_at")) or received_at
    attrs = dict(attributes or {})
    for key, spec in mapping.items():
        if key.startswith("attr."):
            value = lookup(spec, payload, answers)
            if present(value):
                attrs[key[5:]] = value
    account_value = pick("account_value")
    account_value = to_decimal(account_value, "Account value") if present(account_value) else None
    email = text(pick("email")).strip()
    customer = CustomerIdentity(
        external_id=text(pick("external_id"))[:255],
        email=email if "@" in email else "",
        name=text(pick("name"))[:255],
        phone=text(pick("phone"))[:64],
        tier=text(pick("tier"))[:60],
        segment=text(pick("segment"))[:60],
        account_value=account_value,
        attributes=dict(customer_attributes or {}),
    )
    return NormalizedResponse(
        response_id=response_id[:255],
        survey_id=(text(pick("survey_id")) or "default")[:255],
        survey_name=(text(pick("survey_name")) or text(pick("survey_id")) or "Survey")[:255],
        answered_at=answered_at,
        scores=final,
        customer=customer,
        comment=text(pick("comment")),
        touchpoint=text(pick("touchpoint"))[:120],
        channel=text(pick("channel"))[:60],
        location=text(pick("location"))[:120],
        region=text(pick("region"))[:120],
        attributes=attrs,
    )


def _keys(payload: Any, prefix: str = "") -> list[str]:
    if not isinstance(payload, dict):
        return []
    keys = []
    for k, v in payload.items():
        keys.append(prefix + str(k))
        if isinstance(v, dict) and len(keys) < 40:
            keys.extend(_keys(v, f"{prefix}{k}."))
    return keys


def guess_metric(key: str) -> str | None:
    """A question key or title that names its metric (used only when nothing is mapped)."""
    k = key.lower()
    if re.search(r"\bnps\b|nps|recommend", k):
        return "nps"
    if re.search(r"csat|satisf", k):
        return "csat"
    if re.search(r"\bces\b|effort|easy", k):
        return "ces"
    return None
