"""Reading the English sentences alerts stored as reasons before they were stored as codes.

Used by the data migrations that turned them into codes (alerts 0006, cases 0017): kept as it was
then, so the migrations read the same forms whenever they run. `parse_reason` returns the code
form of a sentence the rules engine wrote (alerts.reasons), or None for one it does not know;
the migrations keep such a sentence as it was (alerts.reasons.describe_reason shows it as stored).
"""

from __future__ import annotations

import re

NUMBER = r"-?\d+(?:\.\d+)?"
QUOTED = re.compile(r"“([^”]*)”")
BOUND = re.compile(rf"^(?P<said>.+) is (?:at most (?P<lte>{NUMBER})|at least (?P<gte>{NUMBER})|"
                   rf"between (?P<low>{NUMBER}) and (?P<high>{NUMBER}))$")
NPS = re.compile(rf"^NPS (?P<value>{NUMBER})$")
CSAT = re.compile(rf"^CSAT (?P<value>{NUMBER}) of (?P<min>{NUMBER})–(?P<max>{NUMBER})$")
CES = re.compile(rf"^CES (?P<value>{NUMBER}) of (?P<min>{NUMBER})–(?P<max>{NUMBER}) \((?P=max) = "
                 rf"(?P<way>easiest|most effort)\)(?:, (?P<converted>{NUMBER}) where (?P=max) = "
                 rf"(?P<direction>easiest|most effort))?$")
CUSTOM = re.compile(rf"^“(?P<key>[^”]*)” (?P<value>{NUMBER}) of (?P<min>None|{NUMBER})–(?P<max>None|{NUMBER})$")
VALUES = {"survey is": "survey", "touchpoint is": "touchpoint", "channel is": "channel", "location is": "location",
          "region is": "region", "customer tier is": "tier", "customer segment is": "segment"}
VALUE = re.compile(r"^(?P<label>survey is|touchpoint is|channel is|location is|region is|customer tier is|"
                   r"customer segment is) “(?P<value>.*)”$")
SENTIMENT = re.compile(rf"^comment sentiment is (?P<band>negative|neutral|positive) \((?P<score>[+-]?{NUMBER})\)$")


def number(text: str | None):
    if text is None or text == "None":
        return None
    value = float(text)
    return int(value) if value.is_integer() else value


def _said(text: str) -> dict | None:
    if m := NPS.match(text):
        return {"metric": "nps", "value": number(m["value"])}
    if m := CSAT.match(text):
        return {"metric": "csat", "value": number(m["value"]), "min": number(m["min"]), "max": number(m["max"])}
    if m := CES.match(text):
        said = {"metric": "ces", "value": number(m["value"]), "min": number(m["min"]), "max": number(m["max"]),
                "easy": m["way"] == "easiest"}
        if m["converted"] is not None:
            said.update(direction="easy" if m["direction"] == "easiest" else "effort", converted=number(m["converted"]))
        return said
    if m := CUSTOM.match(text):
        return {"metric": "custom", "key": m["key"], "value": number(m["value"]), "min": number(m["min"]),
                "max": number(m["max"])}
    return None


def parse_reason(text) -> dict | None:
    """The code form of one stored English reason, or None."""
    if not isinstance(text, str):
        return None
    if m := BOUND.match(text):
        said = _said(m["said"])
        if said is None:
            return None
        if m["lte"] is not None:
            return {"code": "score", **said, "op": "lte", "threshold": number(m["lte"])}
        if m["gte"] is not None:
            return {"code": "score", **said, "op": "gte", "threshold": number(m["gte"])}
        return {"code": "score", **said, "op": "between", "threshold": number(m["low"]), "high": number(m["high"])}
    if m := VALUE.match(text):
        return {"code": VALUES[m["label"]], "value": m["value"]}
    if text == "has a comment":
        return {"code": "comment"}
    if text == "has no comment":
        return {"code": "no_comment"}
    if text.startswith("comment mentions “"):
        rest = text[len("comment mentions "):]
        return {"code": "keywords", "words": QUOTED.findall(rest), "all": "” and “" in rest}
    if text.startswith("comment is about “"):
        return {"code": "themes", "names": QUOTED.findall(text)}
    if m := SENTIMENT.match(text):
        return {"code": "sentiment", "band": m["band"], "score": number(m["score"])}
    return None


def parse_reasons(reasons) -> tuple[list, bool]:
    """(the list with every sentence it can read turned into codes, whether anything changed)."""
    if not isinstance(reasons, list):
        return reasons, False
    out, changed = [], False
    for reason in reasons:
        parsed = parse_reason(reason)
        if parsed is not None:
            out.append(parsed)
            changed = True
        else:
            out.append(reason)
    return out, changed
