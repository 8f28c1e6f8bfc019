"""Template filters for comments: `{{ response|highlight_themes }}` shows a response's comment,
escaped, with the words that tagged it with a theme in <mark>; `{{ score|sentiment_label }}`
says negative, neutral or positive (VADER's ±0.05 convention).

    {% load text_tags %}
    <blockquote>{{ response|highlight_themes }}</blockquote>

Prefetch `theme_links` for a list of responses; otherwise each response costs one query."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from surveys.text import highlight, sentiment_label as _sentiment_label

register = template.Library()


@register.filter
def highlight_themes(response) -> SafeString:
    comment = getattr(response, "comment", "") or ""
    if not comment or getattr(response, "pk", None) is None:
        return mark_safe(escape(comment))
    words = [word for link in response.theme_links.all() for word in link.matches or ()]
    return highlight(comment, words)


@register.filter
def highlight_words(comment, matches) -> SafeString:
    """`{{ comment|highlight_words:matches }}` for a comment and a list of words."""
    return highlight(comment or "", matches or ())


@register.filter
def sentiment_label(score) -> str:
    return _sentiment_label(score)


@register.filter
def sentiment_word(label: str) -> str:
    """A sentiment band ("negative") as the viewer reads it ("Negative", "Negativo")."""
    from surveys.vocabulary import Sentiment

    try:
        return str(Sentiment(label).label)
    except ValueError:
        return label
