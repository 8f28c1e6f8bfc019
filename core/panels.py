"""Sections a higher app lends to a lower app's page, by page name.

The customer and account pages belong to the customers app, but their churn risk is a concept of
the churn app, which sits above it. The churn app registers a panel here when it starts
(churn.panels); the page asks for its panels and renders them in order. A panel is a function of
(request, object) returning HTML, or "" to show nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.safestring import SafeString, mark_safe

Panel = Callable[..., str]

_PANELS: dict[str, dict[str, Panel]] = {}


def register_page_panel(page: str, name: str, panel: Panel) -> None:
    """Registering the same name again replaces it (an app's ready() may run twice in tests)."""
    _PANELS.setdefault(page, {})[name] = panel


def page_panels(page: str, request, obj) -> list[SafeString]:
    rendered = (panel(request, obj) for panel in _PANELS.get(page, {}).values())
    return [mark_safe(html) for html in rendered if html]
