"""Sentiment and theme tagging: comments per second per core.

What every recorded response goes through (surveys.services.response_analyse), measured without
the database: language detection and sentiment (surveys.text.analyse: py3langid, then VADER for
English or the score fallback) and theme tagging against 30 active themes (ThemeMatcher.match,
the compiled patterns the pipeline caches per process). The comments are a seeded, realistic
mix: empty ones, one-word answers, sentences and paragraphs in English, some in French,
Spanish, German and Italian, some with emoji. CPU time is time.process_time() of this one
process (one core). Run alone: `DEBUG=1 .venv/bin/python -m bench text`."""

from __future__ import annotations

import datetime
import os
import random
import statistics
import time
from pathlib import Path

COMMENTS = 20_000
SEED = 11
ROUNDS = 3  # each figure is the median of this many passes over the comments

THEMES = {
    "Delivery delays": ["late delivery", "courier", "arrived late", "delayed", "tracking"],
    "Damaged items": ["damaged", "broken", "smashed", "dented"],
    "Staff attitude": ["rude", "unfriendly", "impolite", "attitude"],
    "Helpful staff": ["helpful", "friendly staff", "kind", "polite"],
    "Waiting time": ["queue", "waited", "waiting", "wait time"],
    "Price": ["expensive", "price", "overpriced", "cost"],
    "Refunds": ["refund", "money back", "reimbursed"],
    "Returns": ["return", "returns", "exchange"],
    "Checkout": ["checkout", "payment failed", "card declined", "till"],
    "App": ["app", "crash", "crashes", "login"],
    "Website": ["website", "site", "page", "broken link"],
    "Cleanliness": ["dirty", "clean", "messy", "smell"],
    "Parking": ["parking", "car park"],
    "Opening hours": ["opening hours", "closed early", "opening times"],
    "Stock": ["out of stock", "sold out", "unavailable"],
    "Product quality": ["quality", "poor quality", "cheap material", "fell apart"],
    "Sizing": ["size", "too small", "too big", "fit"],
    "Call centre": ["on hold", "call centre", "phone", "hung up"],
    "Email support": ["email", "no reply", "ticket"],
    "Billing": ["invoice", "charged twice", "billing", "overcharged"],
    "Loyalty": ["points", "loyalty", "rewards", "voucher"],
    "Promotions": ["discount", "promo code", "offer", "sale"],
    "Café": ["café", "coffee", "cake"],
    "Food": ["food", "cold food", "meal", "menu"],
    "Wifi": ["wifi", "wi-fi", "internet"],
    "Accessibility": ["wheelchair", "accessible", "step free"],
    "Noise": ["noisy", "loud music", "noise"],
    "Manager": ["manager", "supervisor", "complaint"],
    "Communication": ["no update", "not informed", "kept in the dark"],
    "Installation": ["installation", "engineer", "technician", "appointment"],
}

EN_POSITIVE = ["Great service, thank you", "The staff were friendly and really helpful", "Quick delivery, well packed",
               "Lovely café and the coffee was excellent", "Easy checkout and a good price",
               "The engineer was on time and polite", "Fantastic, will come again"]
EN_NEGATIVE = ["The courier arrived late and the box was damaged", "Waited forty minutes in the queue",
               "The cashier was rude and unhelpful", "Charged twice and still no refund",
               "The app crashes every time I try to login", "Far too expensive for such poor quality",
               "On hold for an hour then they hung up", "The toilets were dirty and it smelled",
               "No update on my order, kept in the dark for days", "Out of stock again, third time this month"]
EN_NEUTRAL = ["Ordered on Monday, it came on Thursday", "I used the website to book", "Bought a jacket and a scarf",
              "Paid by card at the till", "Collected from the store"]
SHORT = ["ok", "Fine", "Thanks", "Good", "Bad", "meh", "Great!", "Rude", "Too slow", "Nothing to add", "n/a"]
OTHER = ["Le livreur était très impoli et en retard", "Service rapide mais produit cassé", "Merci beaucoup, très bien",
         "Muy mal servicio, nunca más", "La comida estaba fría y el camarero fue grosero",
         "Sehr freundliches Personal, danke", "Die Lieferung kam zwei Tage zu spät und war beschädigt",
         "Il prodotto è arrivato rotto", "Personale gentile ma prezzi troppo alti"]
EMOJI = ["😍", "😡", "👍", "👎", "🙂", "😞", "🔥", "💯", "🤬", "😊"]


def make_comments(rng: random.Random, n: int = COMMENTS) -> list[str]:
    comments = []
    for _ in range(n):
        kind = rng.choices(["empty", "short", "sentence", "paragraph", "other"], weights=[15, 15, 40, 22, 8])[0]
        if kind == "empty":
            text = rng.choice(["", " ", "\n"])
        elif kind == "short":
            text = rng.choice(SHORT)
        elif kind == "sentence":
            text = rng.choice(EN_POSITIVE + EN_NEGATIVE + EN_NEUTRAL) + rng.choice([".", "!", "", "!!!"])
        elif kind == "paragraph":
            parts = rng.sample(EN_POSITIVE + EN_NEGATIVE + EN_NEUTRAL, rng.randint(3, 6))
            text = ". ".join(parts) + "."
        else:
            text = rng.choice(OTHER)
        if text.strip() and rng.random() < 0.12:
            text += " " + rng.choice(EMOJI) * rng.randint(1, 3)
        if text.strip() and rng.random() < 0.1:
            text = text.upper()
        comments.append(text)
    return comments


def _passes(function, comments) -> tuple[float, float]:
    """Median CPU seconds and wall seconds of ROUNDS passes."""
    cpu, wall = [], []
    for _ in range(ROUNDS):
        started_cpu, started = time.process_time(), time.perf_counter()
        for comment in comments:
            function(comment)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return statistics.median(cpu), statistics.median(wall)


def run(args=None) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("CLOSELOOP_ENCRYPTION_KEYS", "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=")
    import django

    django.setup()
    from bench.machine import describe
    from surveys.text import ThemeMatcher, analyse, detect_language, score_sentiment, vader_compound

    rng = random.Random(SEED)
    comments = make_comments(rng)
    fallback = score_sentiment(nps=4)
    started = time.process_time()
    matcher = ThemeMatcher([(i, name, f"t{i}", words) for i, (name, words) in enumerate(THEMES.items(), start=1)])
    analyse("warm up the detector and the analyzer", fallback_score=fallback)
    load_cpu = time.process_time() - started

    analyse_results = [analyse(c, fallback_score=fallback) for c in comments]
    languages = {}
    for result in analyse_results:
        languages[result.language or "(none)"] = languages.get(result.language or "(none)", 0) + 1
    tagged = sum(1 for c in comments if matcher.match(c))
    nonempty = sum(1 for c in comments if c.strip())

    figures = [
        ("Language detection (py3langid)", _passes(detect_language, comments)),
        ("Sentiment alone (VADER on every comment)", _passes(vader_compound, comments)),
        ("Sentiment + language (`analyse`)", _passes(lambda c: analyse(c, fallback_score=fallback), comments)),
        ("Theme tagging, 30 themes (`ThemeMatcher.match`)", _passes(matcher.match, comments)),
        ("Everything a recorded response gets", _passes(
            lambda c: (analyse(c, fallback_score=fallback), matcher.match(c)), comments)),
    ]
    lines = [
        "## Sentiment and theme tagging",
        "",
        f"Run on {datetime.date.today().isoformat()}: {describe(with_load=True)}.",
        f"Data: {len(comments):,} seeded comments ({nonempty:,} not empty; by detected language: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(languages.items(), key=lambda kv: -kv[1])) + "), "
        f"{len(matcher)} themes with {sum(len(w) for w in THEMES.values())} keywords and phrases; "
        f"{tagged:,} comments are about at least one theme. One process, no database; each figure is the "
        f"median of {ROUNDS} passes; CPU time from time.process_time().",
        "",
        "| step | comments/s per core (CPU) | µs per comment (CPU) | wall s per pass |",
        "|---|---:|---:|---:|",
    ]
    for label, (cpu, wall) in figures:
        lines.append(f"| {label} | {len(comments) / cpu:,.0f} | {cpu / len(comments) * 1e6:,.1f} | {wall:.2f} |")
    lines += [
        "",
        f"Loading the language model, VADER's lexicon and compiling the themes once per process: "
        f"{load_cpu:.2f} s CPU. Tagging stays out of the webhook's way: it runs in the worker that records the "
        "response, after the delivery was accepted.",
        "",
    ]
    text = "\n".join(lines)
    Path(__file__).resolve().parent.parent.joinpath("docs", "benchmarks_text.md").write_text(text)
    return text


if __name__ == "__main__":
    print(run())
