"""The one validator for an alert rule's conditions, shared by AlertRule.clean, the editor form and
the API serializer, so a rule that cannot match is refused with the same message everywhere.

`rule_problems(values)` reads a plain dict of field values and returns {field: [message, ...]}
(empty when the rule is sound); every message names what to change."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from surveys.text import normalize_text

# Default scales when a rule leaves them blank. NPS is fixed by definition.
NPS_SCALE = (0, 10)
DEFAULT_SCALES = {"nps": NPS_SCALE, "csat": (1, 5), "ces": (1, 7)}
METRIC_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "custom": "question"}
COMMENT_CONTRADICTION = ("A rule that looks at the comment's words, themes or sentiment cannot also require "
                         "“without a comment”.")


def effective_scale(metric: str, scale_min, scale_max) -> tuple[int, int] | None:
    """The (min, max) a threshold is written on: NPS 0-10; CSAT 1-5 and CES 1-7 unless declared;
    a custom question's declared scale (None until both ends are given)."""
    if metric == "nps":
        return NPS_SCALE
    if scale_min is not None and scale_max is not None:
        return int(scale_min), int(scale_max)
    if metric in DEFAULT_SCALES and scale_min is None and scale_max is None:
        return DEFAULT_SCALES[metric]
    return None


def _number(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def fmt_number(value) -> str:
    """6 rather than 6.00; 2.5 stays 2.5."""
    number = _number(value)
    if number is None:
        return ""
    text = format(number.normalize(), "f")
    return text


def rule_problems(values: dict) -> dict[str, list[str]]:
    """Why a rule with these values could never match (or is incomplete): {field: [messages]}.

    Keys read: metric, metric_key, operator, threshold, threshold_high, scale_min, scale_max,
    keywords, keyword_mode, comment_presence, sentiment, and when present (forms and the API,
    which see the many-to-many fields) action, notify_users, notify_team, themes."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    metric = values.get("metric") or "nps"
    label = METRIC_LABELS.get(metric, metric)
    if metric == "custom" and not (values.get("metric_key") or "").strip():
        add("metric_key", "Name the question key this rule reads (as the source maps it), e.g. “delivery_rating”.")

    scale_min, scale_max = values.get("scale_min"), values.get("scale_max")
    if metric == "nps":
        if (scale_min is not None and int(scale_min) != 0) or (scale_max is not None and int(scale_max) != 10):
            add("scale_max" if scale_max not in (None, 10) else "scale_min", "NPS is always on the 0–10 scale; leave the scale blank.")
    elif (scale_min is None) != (scale_max is None):
        add("scale_max" if scale_max is None else "scale_min", "Give both ends of the scale, or neither.")
    elif metric == "custom" and scale_min is None:
        add("scale_min", "Give the question's scale (its lowest and highest answer), e.g. 0 to 10.")
    if scale_min is not None and scale_max is not None and int(scale_min) >= int(scale_max):
        add("scale_max", f"The scale's top ({scale_max}) must be above its bottom ({scale_min}).")
    scale = effective_scale(metric, scale_min, scale_max) if "scale_min" not in problems and "scale_max" not in problems else None

    operator = values.get("operator") or "lte"
    low, high = _number(values.get("threshold")), _number(values.get("threshold_high"))
    if low is None:
        add("threshold", "Give a threshold." if values.get("threshold") in (None, "") else "The threshold must be a number.")
    elif scale and not scale[0] <= low <= scale[1]:
        add("threshold", f"{fmt_number(low)} is outside the {label} scale {scale[0]}–{scale[1]}, so the rule could never "
                         f"match as meant; choose a value from {scale[0]} to {scale[1]}.")
    if operator == "between":
        if high is None:
            add("threshold_high", "“Is between” needs an upper bound.")
        elif scale and not scale[0] <= high <= scale[1]:
            add("threshold_high", f"{fmt_number(high)} is outside the {label} scale {scale[0]}–{scale[1]}; choose a value "
                                  f"from {scale[0]} to {scale[1]}.")
        elif low is not None and low > high:
            add("threshold_high", f"The upper bound ({fmt_number(high)}) is below the lower bound ({fmt_number(low)}), "
                                  "so no score is between them.")
    elif high is not None:
        add("threshold_high", "Only “is between” uses an upper bound; leave it blank.")

    keywords = values.get("keywords") or []
    if not isinstance(keywords, (list, tuple)) or not all(isinstance(k, str) for k in keywords):
        add("keywords", "Keywords must be a list of words or phrases.")
        keywords = []
    for keyword in keywords:
        if not normalize_text(keyword).strip() or not any(ch.isalnum() for ch in keyword):
            add("keywords", f"“{keyword}” has no letters or digits to look for.")
    if values.get("keyword_mode") == "all" and not [k for k in keywords if k.strip()]:
        add("keywords", "“All of” needs at least one keyword or phrase (an empty list would match every comment "
                        "or none); add keywords or choose “any of”.")
    if values.get("comment_presence") == "without" and (keywords or values.get("sentiment") or values.get("themes")):
        add("comment_presence", COMMENT_CONTRADICTION)

    if values.get("action") == "notify" and "notify_users" in values:
        if not values.get("notify_users") and not values.get("notify_team"):
            add("notify_users", "Choose the people or the team to e-mail.")
    return problems
