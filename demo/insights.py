"""What the demo learns from its own history, last: theme discovery over the demo comments (a
couple of proposals left waiting for the admin, the filler ones already rejected, as an admin
would) and the root-cause model trained on the demo's closed cases, so the close form suggests
causes from the first click."""

from __future__ import annotations

import logging

from django.utils import timezone

from surveys.services import discover, theme_decide
from surveys.text import normalize_text

logger = logging.getLogger(__name__)

DISCOVERY_PROPOSALS = 5
# Words of comments that say nothing about a topic ("It was fine", "Ça allait"): a proposal whose
# main term is one of them is what an admin rejects at once.
FILLER = {"fine", "special", "average", "expected", "experience", "ok", "okay", "ca", "allait", "war", "ordnung",
          "thank", "thanks", "nothing"}


def _discover(admin, now) -> tuple[int, int]:
    result = discover(now=now, max_proposals=DISCOVERY_PROPOSALS)
    rejected = 0
    for theme in result.themes:
        top = set(normalize_text(theme.keywords[0]).split()) if theme.keywords else set()
        if top & FILLER and admin is not None:
            theme_decide(theme_id=theme.pk, decision="reject", by=admin)
            rejected += 1
    return len(result.themes) - rejected, rejected


def _train(now):
    try:
        from cases.suggest import train_root_cause_model
    except ImportError:  # suggestions not installed in this build: the close form suggests nothing
        return None
    return train_root_cause_model(now=now)


def seed(context: dict) -> dict:
    now = timezone.now()
    waiting, rejected = _discover(context.get("admin"), now)
    model = _train(now)
    out = context.get("stdout")
    if out is not None:
        trained = (f"root-cause model trained on {model.trained_on} closed cases"
                   + (f" (held-out top-1 {model.accuracy_top1:.0%}, top-3 {model.accuracy_top3:.0%})"
                      if model.accuracy_top1 is not None and model.accuracy_top3 is not None else "")
                   if model is not None else "no root-cause model (too few closed cases, or suggestions not installed)")
        out.write(f"Discovered themes: {waiting} waiting for the admin, {rejected} rejected; {trained}.")
    return {"root_cause_model": model}
