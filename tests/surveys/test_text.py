"""Text analytics: sentiment, language and themes of known comments; highlighting; the pipeline
storing them before alerts run; re-tagging; and theme discovery."""

from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template import Context, Template
from django.utils import timezone

from surveys.ingest import delivery_store
from surveys.models import ResponseTheme, SurveyResponse, Theme
from surveys.services import (
    delivery_process, discover, responses_retag, theme_create, theme_decide, theme_update,
)
from surveys.signals import response_recorded
from surveys.text import (
    ThemeMatcher, active_theme_matcher, analyse, detect_language, highlight, score_sentiment,
    sentiment_label,
)
from tests.surveys.payloads import closeloop_body, make_source

THEMES = [
    (1, "Delivery delays", "delivery-delays", ["late delivery", "delivery", "courier", "arrived late"]),
    (2, "Staff attitude", "staff-attitude", ["rude", "unfriendly", "staff"]),
    (3, "Café", "cafe", ["café", "coffee"]),
]


# --- sentiment and language (pure) --------------------------------------------------------------


@pytest.mark.parametrize("comment, label", [
    ("The staff were wonderful and so helpful, thank you!", "positive"),
    ("Terrible service, the courier was rude and the parcel was broken.", "negative"),
    ("I love it 😍", "positive"),
    ("😡😡😡", "negative"),
    ("GREAT app!!!", "positive"),
    ("The order arrived on Tuesday.", "neutral"),
    ("not good at all", "negative"),
])
def test_english_sentiment_comes_from_the_text_and_reads_emoji_and_emphasis(comment, label):
    result = analyse(comment, fallback_score=0.9)
    assert result.language == "en"
    assert result.sentiment_source == "text"
    assert sentiment_label(result.sentiment) == label


def test_emoji_change_the_score():
    plain = analyse("the delivery").sentiment
    assert analyse("the delivery 😍").sentiment > plain > analyse("the delivery 😡").sentiment


@pytest.mark.parametrize("comment, language", [
    ("Le livreur était très impoli et en retard", "fr"),
    ("Muy mal servicio, nunca más volveré", "es"),
    ("Die Lieferung kam zwei Tage zu spät und war beschädigt", "de"),
    ("Il prodotto è arrivato rotto", "it"),
])
def test_non_english_sentiment_comes_from_the_score(comment, language):
    result = analyse(comment, fallback_score=score_sentiment(nps=2))
    assert (result.language, result.sentiment_source, result.sentiment) == (language, "score", -0.6)


def test_non_english_without_a_score_has_no_sentiment():
    result = analyse("Le livreur était très impoli et en retard", fallback_score=None)
    assert (result.sentiment, result.sentiment_source, result.language) == (None, "", "fr")


@pytest.mark.parametrize("comment", ["", "   ", "\n\t "])
def test_an_empty_comment_has_no_sentiment_source_or_language(comment):
    result = analyse(comment, fallback_score=1.0)
    assert (result.sentiment, result.sentiment_source, result.language) == (None, "", "")


@pytest.mark.parametrize("comment", ["ok", "Thanks", "gracias", "Nice", "meh", "👍"])
def test_very_short_comments_are_taken_as_english(comment):
    assert detect_language(comment) == "en"
    assert analyse(comment).sentiment_source == "text"


def test_detection_is_deterministic():
    comment = "Service rapide mais produit cassé"
    assert {detect_language(comment) for _ in range(5)} == {"fr"}


@pytest.mark.parametrize("kwargs, expected", [
    ({"nps": 0}, -1.0), ({"nps": 5}, 0.0), ({"nps": 10}, 1.0),
    ({"csat": 1, "csat_scale": (1, 5)}, -1.0), ({"csat": 4, "csat_scale": (1, 5)}, 0.5),
    ({"csat": 7, "csat_scale": (1, 10)}, 0.3333),
    ({"ces": 7, "ces_scale": (1, 7), "ces_high_is_easy": True}, 1.0),
    ({"ces": 7, "ces_scale": (1, 7), "ces_high_is_easy": False}, -1.0),
    ({}, None),
])
def test_scores_map_to_minus_one_to_one(kwargs, expected):
    assert score_sentiment(**kwargs) == expected


# --- themes (pure) ------------------------------------------------------------------------------


def test_themes_match_whole_words_ignoring_case_and_accents():
    matcher = ThemeMatcher(THEMES)
    found = {f.slug: f.matches for f in matcher.match("The COURIER was RUDE; the cafe coffee was cold.")}
    assert found == {"delivery-delays": ("COURIER",), "staff-attitude": ("RUDE",), "cafe": ("cafe", "coffee")}
    assert [f.slug for f in matcher.match("Le CAFÉ était bon")] == ["cafe"]
    assert matcher.match("Prudence: the staffing was fine") == []  # "rude" and "staff" inside other words


def test_a_phrase_keeps_its_words_and_tolerates_spacing():
    matcher = ThemeMatcher(THEMES)
    assert matcher.match("It arrived   LATE, again")[0].matches == ("arrived   LATE",)
    assert matcher.match("Late delivery twice")[0].matches == ("Late delivery",)


def test_matched_words_keep_the_accents_as_written():
    found = ThemeMatcher([(1, "Staff", "staff", ["equipe"])]).match("L'ÉQUIPE était super, l'équipe aussi")
    assert found[0].matches == ("ÉQUIPE",)  # one entry per word, as first written


def test_highlight_escapes_the_comment_and_marks_the_matches():
    html = highlight('<script>alert("x")</script> The Courier & the CAFÉ', ["courier", "café"])
    assert html == ('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; The <mark>Courier</mark> &amp; the '
                    '<mark>CAFÉ</mark>')


def test_highlight_without_matches_is_only_escaped():
    assert highlight("<b>fine</b>", []) == "&lt;b&gt;fine&lt;/b&gt;"


def test_highlight_marks_words_found_through_their_accents():
    assert highlight("Le café, le CAFE", ["cafe"]) == "Le <mark>café</mark>, le <mark>CAFE</mark>"


# --- known comments: themes and sentiment together -------------------------------------------

KNOWN_COMMENTS = [
    # (comment, its themes and the words that matched, sentiment label, source, language); non-English
    # comments take the sentiment of an NPS of 2 (-0.6), as the pipeline passes the response's score.
    ("The courier was RUDE 😡", {"delivery-delays": ("courier",), "staff-attitude": ("RUDE",)},
     "negative", "text", "en"),
    ("cOuRiEr ArRiVeD LaTe again 👎👎", {"delivery-delays": ("cOuRiEr", "ArRiVeD LaTe")}, "negative", "text", "en"),
    ("courier😡late delivery😡", {"delivery-delays": ("courier", "late delivery")}, "negative", "text", "en"),
    ("😍 great coffee, lovely staff 😍", {"cafe": ("coffee",), "staff-attitude": ("staff",)},
     "positive", "text", "en"),
    ("THE COFFEE WAS AMAZING!!!", {"cafe": ("COFFEE",)}, "positive", "text", "en"),
    ("COFFEE ☕ 👎", {"cafe": ("COFFEE",)}, "negative", "text", "en"),
    ("👍", {}, "positive", "text", "en"),
    ("Le café était froid et le personnel très impoli", {"cafe": ("café",)}, "negative", "score", "fr"),
    ("El café estaba frío y el repartidor llegó tarde 😡", {"cafe": ("café",)}, "negative", "score", "es"),
    ("Die Lieferung kam zu spät und der Kurier war unfreundlich", {}, "negative", "score", "de"),
    ("", {}, "", "", ""),
    ("  \n ", {}, "", "", ""),
]


@pytest.mark.parametrize("comment, themes, label, source, language", KNOWN_COMMENTS)
def test_known_comments_get_their_themes_and_sentiment(comment, themes, label, source, language):
    """Emoji, mixed case, other languages and empty comments, through both halves of the analysis."""
    result = analyse(comment, fallback_score=score_sentiment(nps=2))
    assert (sentiment_label(result.sentiment), result.sentiment_source, result.language) == (label, source, language)
    assert {f.slug: f.matches for f in ThemeMatcher(THEMES).match(comment)} == themes


def test_nothing_is_downloaded_at_run_time(db, monkeypatch):
    """VADER's lexicon, py3langid's model and scikit-learn's stop words ship in the installed
    packages: a process that cannot open a network connection analyses, tags and discovers."""
    import socket

    from surveys.text import language, sentiment

    def refuse(*args, **kwargs):
        raise AssertionError("text analytics tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(sentiment, "_analyzer", None)  # load both models afresh, inside the fence
    monkeypatch.setattr(language, "_identifier", None)
    assert sentiment_label(analyse("The courier was rude 😡").sentiment) == "negative"
    assert detect_language("Le livreur était très impoli et en retard") == "fr"
    assert discover(comments=_corpus(), save=False).themes


# --- the pipeline ---------------------------------------------------------------------------------

def _record(comment: str, nps: int = 3, response_id: str = "r-1"):
    """Record a response the way a webhook delivery is: stored, then processed by the task."""
    src = make_source("standard", slug=f"std-{response_id}")
    delivery, _ = delivery_store(source=src, delivery_id=f"d-{response_id}", content_type="application/json",
                                 headers={}, body=closeloop_body(response_id=response_id, nps=nps, comment=comment))
    assert delivery_process(delivery_pk=delivery.pk) == "processed"
    return SurveyResponse.objects.get(external_id=response_id)


@pytest.fixture
def themes(db):
    delivery = theme_create(name="Delivery delays", keywords=["late delivery", "courier", "arrived late"])
    staff = theme_create(name="Staff attitude", keywords=["rude", "unfriendly"])
    return {"delivery": delivery, "staff": staff}


@pytest.mark.django_db
def test_a_recorded_response_gets_sentiment_language_and_themes_before_alerts_hear_of_it(themes):
    seen = {}

    def listener(sender, recorded, **kwargs):
        response = recorded.response
        seen["theme_ids"] = recorded.theme_ids
        seen["new"] = recorded.is_new
        seen["sentiment"] = response.sentiment

    response_recorded.connect(listener, dispatch_uid="tests.text.listener", weak=False)
    try:
        response = _record("The courier was RUDE and it arrived late 😡")
    finally:
        response_recorded.disconnect(dispatch_uid="tests.text.listener")
    expected = {themes["delivery"].pk, themes["staff"].pk}
    # The receivers get the theme ids with the response (its links are written with the batch).
    assert seen["theme_ids"] == frozenset(expected) and seen["new"] is True
    assert set(ResponseTheme.objects.filter(response=response).values_list("theme_id", flat=True)) == expected
    assert seen["sentiment"] < -0.05
    assert (response.sentiment_source, response.language) == ("text", "en")
    links = {link.theme.slug: link.matches for link in response.theme_links.select_related("theme")}
    assert links == {"delivery-delays": ["courier", "arrived late"], "staff-attitude": ["RUDE"]}
    assert all(link.answered_at == response.answered_at for link in response.theme_links.all())


@pytest.mark.django_db
def test_a_french_comment_takes_its_sentiment_from_the_nps(themes):
    response = _record("Le livreur était très impoli et en retard", nps=2)
    assert (response.language, response.sentiment_source, response.sentiment) == ("fr", "score", -0.6)


@pytest.mark.django_db
def test_a_response_without_a_comment_has_no_text_analytics(themes):
    response = _record("", nps=9)
    assert (response.sentiment, response.sentiment_source, response.language) == (None, "", "")
    assert not response.theme_links.exists()


@pytest.mark.django_db
def test_a_comment_sent_later_is_analysed_and_tagged(themes):
    from tests.surveys.payloads import delighted_body

    source = make_source("delighted")
    first, _ = delivery_store(source=source, delivery_id="d-1", content_type="application/json", headers={},
                              body=delighted_body(comment=""))
    delivery_process(delivery_pk=first.pk)
    later, _ = delivery_store(source=source, delivery_id="d-2", content_type="application/json", headers={},
                              body=delighted_body(comment="So rude", event="survey_response.updated"))
    delivery_process(delivery_pk=later.pk)
    response = SurveyResponse.objects.get()
    assert response.sentiment < 0 and response.sentiment_source == "text"
    assert list(response.theme_links.values_list("theme__slug", flat=True)) == ["staff-attitude"]


@pytest.mark.django_db
def test_the_theme_cache_sees_a_new_theme_at_once(themes):
    assert active_theme_matcher().match("Where is my parcel") == []
    theme_create(name="Parcels", keywords=["parcel"])
    assert [f.slug for f in active_theme_matcher().match("Where is my parcel")] == ["parcels"]


@pytest.mark.django_db
def test_the_template_filter_highlights_a_response_by_its_stored_matches(themes):
    response = _record("<script>x</script> The courier was rude")
    html = Template("{% load text_tags %}{{ response|highlight_themes }}").render(Context({"response": response}))
    assert html == "&lt;script&gt;x&lt;/script&gt; The <mark>courier</mark> was <mark>rude</mark>"


# --- re-tagging -------------------------------------------------------------------------------------


def _plain_response(comment: str, days_ago: int = 1) -> SurveyResponse:
    """A stored response that has not been through the pipeline (as before text analytics)."""
    from tests.alerts.helpers import response

    return response(nps=5, comment=comment, answered_at=timezone.now() - timedelta(days=days_ago))


@pytest.mark.django_db
def test_retag_adds_removes_and_is_idempotent(themes):
    parking = _plain_response("No parking anywhere near the store")
    rude = _plain_response("The courier was rude")
    assert not ResponseTheme.objects.exists()  # created directly: not tagged yet
    first = responses_retag(batch_size=1)
    assert (first.scanned, first.added, first.removed) == (2, 2, 0)
    theme_create(name="Parking", keywords=["parking"])
    theme_update(theme_id=themes["staff"].pk, keywords=["unfriendly"])
    second = responses_retag()
    assert (second.added, second.removed) == (1, 1)
    assert set(parking.theme_links.values_list("theme__slug", flat=True)) == {"parking"}
    assert set(rude.theme_links.values_list("theme__slug", flat=True)) == {"delivery-delays"}
    third = responses_retag()
    assert (third.added, third.removed, third.updated) == (0, 0, 0)


@pytest.mark.django_db
def test_retiring_a_theme_keeps_its_history_but_tags_nothing_new(themes, personas):
    old = _record("The courier was late", response_id="old")
    theme_decide(theme_id=themes["delivery"].pk, decision="retire", by=personas.adam)
    new = _record("The courier was late again", response_id="new")
    assert old.theme_links.filter(theme=themes["delivery"]).exists()
    assert not new.theme_links.exists()
    assert responses_retag().removed == 0


@pytest.mark.django_db
def test_accepting_a_proposal_tags_recent_responses(personas, django_capture_on_commit_callbacks):
    response = _plain_response("Parking was impossible")
    proposal = Theme.objects.create(name="Parking / car", slug="parking-car", keywords=["parking", "car park"],
                                    status=Theme.Status.PROPOSED, origin=Theme.Origin.DISCOVERED)
    with django_capture_on_commit_callbacks(execute=True):
        theme_decide(theme_id=proposal.pk, decision="accept", by=personas.adam, name="Parking")
    assert list(response.theme_links.values_list("theme__name", "matches")) == [("Parking", ["Parking"])]
    proposal.refresh_from_db()
    assert (proposal.status, proposal.slug, proposal.decided_by) == ("active", "parking", personas.adam)


@pytest.mark.django_db
def test_the_retag_command_reports_what_it_changed_and_refuses_bad_input(themes):
    _plain_response("The courier was rude", days_ago=40)
    _plain_response("Rude again", days_ago=2)
    out = io.StringIO()
    call_command("retag_responses", "--since", (timezone.now() - timedelta(days=10)).date().isoformat(),
                 stdout=out, stderr=io.StringIO())
    assert "1 responses read: 1 theme tags added" in out.getvalue()
    out = io.StringIO()
    call_command("retag_responses", "--sentiment", stdout=out, stderr=io.StringIO())
    assert "2 responses read: 2 theme tags added" in out.getvalue() and "2 sentiments updated" in out.getvalue()
    with pytest.raises(CommandError, match="not a date"):
        call_command("retag_responses", "--since", "yesterday", stderr=io.StringIO())
    with pytest.raises(CommandError, match="No active theme with slug nope"):
        call_command("retag_responses", "--theme", "nope", stderr=io.StringIO())


# --- discovery ---------------------------------------------------------------------------------------

TOPICS = {
    "parking": ["There was no parking space near the store", "Parking was full again, circled for ages",
                "The car park is far too small", "Could not find parking, the car park was full",
                "Parking costs too much and the car park is dirty"],
    "wifi": ["The wifi in the lounge kept dropping", "Wifi password did not work", "No wifi signal in the lounge",
             "The lounge wifi was painfully slow", "Wifi connection dropped every few minutes"],
    "checkout": ["The checkout queue was very long", "Only one checkout open and a long queue",
                 "Queue at the checkout took twenty minutes", "Self checkout kept failing, long queue",
                 "Checkout queue moved so slowly"],
}


def _corpus(size_per_topic: int = 20, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    corpus = []
    for sentences in TOPICS.values():
        for _ in range(size_per_topic):
            corpus.append(f"{rng.choice(sentences)}. {rng.choice(['Sad.', 'Please fix.', 'Again!', 'Hmm.', ''])}")
    rng.shuffle(corpus)
    return corpus


@pytest.mark.django_db
def test_discovery_proposes_the_topics_of_a_small_corpus(settings):
    settings.THEME_DISCOVERY_MAX_PROPOSALS = 5
    result = discover(comments=_corpus())
    keyword_sets = [set(t.keywords) for t in result.themes]
    assert result.themes and all(t.pk and t.status == "proposed" and t.origin == "discovered" for t in result.themes)
    for topic in ("parking", "wifi", "checkout"):
        assert any(topic in words for words in keyword_sets), (topic, keyword_sets)
    assert all(len(t.examples) == 3 for t in result.themes)
    assert len({t.slug for t in result.themes}) == len(result.themes)


@pytest.mark.django_db
def test_discovery_is_deterministic_and_never_proposes_a_theme_twice():
    first = discover(comments=_corpus(), save=False)
    again = discover(comments=_corpus(), save=False)
    assert [(t.name, t.keywords) for t in first.themes] == [(t.name, t.keywords) for t in again.themes]
    saved = discover(comments=_corpus())
    assert saved.themes
    assert discover(comments=_corpus()).themes == []  # the same topics are proposed already


@pytest.mark.django_db
def test_discovery_never_reproposes_a_rejected_theme(personas):
    for theme in discover(comments=_corpus()).themes:
        theme_decide(theme_id=theme.pk, decision="reject", by=personas.adam)
    for n, theme in enumerate(Theme.objects.filter(status="rejected")):
        Theme.objects.filter(pk=theme.pk).update(name=f"Renamed {n}", slug=f"renamed-{n}")  # keywords unchanged
    assert discover(comments=_corpus()).themes == []


@pytest.mark.django_db
def test_discovery_with_too_few_comments_proposes_nothing_and_says_why():
    result = discover(comments=_corpus(size_per_topic=3))
    assert result.themes == [] and "needs at least" in result.reason
    assert not Theme.objects.exists()


@pytest.mark.django_db
def test_discovery_reads_recent_comments_that_match_no_active_theme(themes):
    for comment in _corpus():
        _plain_response(comment)
    for _ in range(30):
        _plain_response("The courier was rude")  # tagged by an active theme: not a new topic
    responses_retag()
    from surveys.tasks import discover_themes_task

    outcome = discover_themes_task()
    assert outcome["comments"] == 60
    assert outcome["proposed"] and not any("courier" in name.lower() for name in outcome["proposed"])
