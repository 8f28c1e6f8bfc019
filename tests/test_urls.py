"""The URL configuration's order: the API's routes come first (they are the most requested, and
Django tries patterns in order), which is only safe while no page route lies under api/."""

from django.urls import URLPattern, URLResolver, get_resolver, resolve

from config import urls


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def test_the_api_is_the_first_route_tried():
    assert str(get_resolver().url_patterns[0].pattern) == "api/v1/"


def test_no_page_route_lies_under_the_api():
    pages = [route for route in _routes(urls.urlpatterns[1:]) if route.startswith("api/v1/")]
    assert pages == []


def test_api_and_page_routes_resolve_to_their_views():
    assert resolve("/api/v1/contact-policy/").func.view_class.__name__ == "ContactDecisionView"
    assert resolve("/cases/").view_name == "cases:inbox"
    assert resolve("/login/").url_name == "login"


def test_the_contact_policy_is_the_first_api_route_tried():
    """Survey tools ask it before every send: its routes are tried before every other API route."""
    first = get_resolver().url_patterns[0].url_patterns[0]
    assert [str(p.pattern) for p in first.url_patterns][0] == "contact-policy/"
