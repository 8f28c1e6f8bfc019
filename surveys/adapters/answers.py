"""Reading a list of answers (question id, title, type, value) into scores and a comment: what the
presets whose tools send answers by question share (Tally, Jotform, Google Forms, Standard
Webhooks survey events). Pure functions.

Which answer is which metric, in this order:
1. the tool says so: a question type that names its metric (Typeform's `nps`, a `type: "nps"`
   answer of a Standard Webhooks sender);
2. the question's id, ref or title names it: "nps", "recommend" -> NPS; "csat", "satisf" -> CSAT;
   "ces", "effort", "easy" -> CES (surveys.adapters.assembly.guess_metric);
3. nothing named: the first answer on a 0-10 scale (or, when no scale is known, the first whole
   number from 0 to 10 to a scale or rating question) is the NPS question.
A scale comes from the tool when it says it (Tally's linear scale and rating, Google Forms' scale
item), else from the metric: NPS 0-10, CSAT 1-5, CES 1-7. A CES question whose title asks about
effort or difficulty ("How much effort...", "How difficult...") runs the other way (a high
number is more effort) unless the tool says otherwise. Numeric answers that are no metric are kept
as custom scores only when their scale is known (a "How many employees?" answer is not a score).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from surveys.adapters.assembly import ScoreSpec, guess_metric
from surveys.adapters.common import MISSING, PayloadError, present, text

TEXT_KINDS = ("text", "textarea", "long_text", "paragraph", "paragraph_text", "input_text", "short_text", "comment",
              "open_text", "opentext", "essay", "control_textarea", "control_textbox")
COMMENT_HINTS = re.compile(r"comment|why|reason|feedback|tell us|anything else|improve|explain", re.I)
EFFORT_LOW_IS_BETTER = re.compile(r"effort|difficult|hard", re.I)


@dataclass
class Answer:
    """One answered question as a tool sends it."""

    key: str
    title: str = ""
    kind: str = ""
    value: Any = None
    scale: tuple[int, int] | None = None
    higher_is_better: bool | None = None


def is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value))


def is_scale_kind(kind: str) -> bool:
    """A question type that asks for a score (or no type at all): a plain number question (an age,
    a head count) is never taken for the NPS question."""
    kind = kind.lower()
    return not kind or any(word in kind for word in ("scale", "rating", "nps", "score", "star"))


def slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")[:60] or "score"


def metric_of(answer: Answer) -> str | None:
    kind = answer.kind.lower()
    if kind in ("nps", "net_promoter_score", "netpromoterscore"):
        return "nps"
    if kind in ("csat", "ces"):
        return kind
    return guess_metric(f"{answer.key} {answer.title}")


def default_scale(metric: str, answer: Answer) -> tuple[int, int] | None:
    if metric == "nps":
        return (0, 10)
    if answer.scale:
        return answer.scale
    return {"csat": (1, 5), "ces": (1, 7)}.get(metric)


def pick_scores(answers: list[Answer]) -> list[ScoreSpec]:
    """The score of each numeric answer (see the module for the order of decisions)."""
    numeric = [a for a in answers if is_number(a.value)]
    specs: list[ScoreSpec] = []
    used: set[str] = set()
    for answer in numeric:
        metric = metric_of(answer)
        if metric and metric not in used:
            used.add(metric)
            direction = answer.higher_is_better
            if direction is None:
                direction = not (metric == "ces" and EFFORT_LOW_IS_BETTER.search(answer.title or answer.key))
            specs.append(ScoreSpec(metric, metric, answer.value, default_scale(metric, answer), direction))
        elif answer.scale:
            specs.append(ScoreSpec("custom", slug(answer.key or answer.title), answer.value, answer.scale,
                                   answer.higher_is_better is not False))
    if used:
        return specs
    zero_to_ten = [spec for spec in specs if spec.scale == (0, 10)]
    if zero_to_ten:
        zero_to_ten[0].metric, zero_to_ten[0].key = "nps", "nps"
    elif not specs:
        unscaled = [a for a in numeric if is_scale_kind(a.kind) and 0 <= float(a.value) <= 10
                    and float(a.value) == int(float(a.value))]
        # A question of no known type is taken for the score only when it is the one number sent.
        if unscaled and (unscaled[0].kind or len(numeric) == 1):
            specs.append(ScoreSpec("nps", "nps", unscaled[0].value, (0, 10)))
    return specs


def pick_comment(answers: list[Answer], skip: tuple[str, ...] = ()) -> Any:
    """The free-text answer that is the comment: one whose title asks for it, else the longest."""
    texts = [a for a in answers if isinstance(a.value, str) and a.value.strip() and not is_number(a.value)
             and (a.kind.lower() in TEXT_KINDS or not a.kind) and a.key.lower() not in skip
             and a.title.lower() not in skip and not ("@" in a.value and " " not in a.value.strip())]
    if not texts:
        return MISSING
    hinted = [a for a in texts if COMMENT_HINTS.search(a.title or a.key)]
    return max(hinted or texts, key=lambda a: len(a.value)).value


def by_name(answers: list[Answer]) -> dict:
    """Every answer under its key and its title, lower-cased too (what a mapping may name)."""
    named: dict = {}
    for a in answers:
        for name in (a.key, a.title):
            if name:
                named.setdefault(name, a.value)
                named.setdefault(name.lower(), a.value)
                named.setdefault(slug(name), a.value)
    return named


def identity_from(named: dict, keys: dict[str, tuple[str, ...]]) -> dict:
    """{field: value} for customer and context fields found under any of their names."""
    found = {}
    for field, names in keys.items():
        for name in names:
            value = named.get(name, MISSING)
            if present(value):
                found[field] = text(value)
                break
        else:
            found[field] = MISSING
    return found


# Names under which tools carry the customer and the context (hidden fields, custom fields,
# question titles): what every answer-list preset looks for.
IDENTITY_NAMES = {
    "external_id": ("customer_id", "customerid", "customer id", "user_id", "userid", "user id", "external_id",
                    "externalid", "contact_id", "account_id", "uid"),
    "email": ("email", "e-mail", "email address", "customer_email", "respondent_email"),
    "name": ("name", "full name", "full_name", "customer_name", "your name"),
    "phone": ("phone", "phone number", "phone_number", "mobile", "telephone"),
    "tier": ("tier", "customer_tier", "plan"), "segment": ("segment",),
    "account_value": ("account_value", "arr", "mrr"),
    "touchpoint": ("touchpoint",), "channel": ("channel",), "location": ("location", "store"),
    "region": ("region",),
}
IDENTITY_SKIP = tuple(n for names in IDENTITY_NAMES.values() for n in names)


def documented_shape(tool: str):
    """Wrap an adapter's `normalize`: a signed delivery whose values are not of the types the tool
    documents (an object where a list belongs, a number where text does, a date past the year
    9999) fails with a reason a person can act on, never as an internal error."""

    def wrap(normalize):
        @functools.wraps(normalize)
        def checked(payload, *args, **kwargs):
            try:
                return normalize(payload, *args, **kwargs)
            except (TypeError, AttributeError, ValueError, KeyError, IndexError, OverflowError) as exc:
                raise PayloadError(
                    f"This delivery is not in {tool}'s documented format ({exc.__class__.__name__}: {str(exc)[:120]}). "
                    f"Check what sends to this source; replay the delivery once it is fixed."
                ) from None

        return checked

    return wrap
