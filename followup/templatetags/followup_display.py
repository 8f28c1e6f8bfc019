"""Small display filters for the follow-up pages."""

from django import template

register = template.Library()


@register.filter
def words(value) -> str:
    """A stored key as words: "store_visit" -> "store visit"."""
    return str(value or "").replace("_", " ")
