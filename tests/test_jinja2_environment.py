"""The Jinja2 environment (core.l10n.jinja2_environment): translations escaped as Django's
{% translate %} escapes them, and the `url` and `querystring` globals the inbox's templates use."""

from __future__ import annotations

from django.http import QueryDict
from django.template import engines
from django.urls import reverse
from django.utils import translation


def _render(source: str, **context) -> str:
    return engines["jinja2"].from_string(source).render(context)


def test_a_translation_is_escaped_and_its_values_too():
    with translation.override("fr"):
        assert _render('{{ _("The view\'s own order") }}') == "L&#39;ordre propre à la vue"
    assert _render('{{ _("The view\'s own order") }}') == "The view&#39;s own order"
    assert _render('<p title="{{ _(\'Search\') }}">{{ name }}</p>', name='<b>"x"</b>') == (
        '<p title="Search">&lt;b&gt;&#34;x&#34;&lt;/b&gt;</p>')


def test_url_and_querystring_are_djangos():
    assert _render("{{ url('cases:inbox') }}") == reverse("cases:inbox") == "/cases/"
    assert _render("{{ url('cases:saved_view_rename', 7) }}") == reverse("cases:saved_view_rename", args=[7])
    params = QueryDict("view=team&after=abc&q=a+b&priority=high&priority=urgent")
    assert _render("{{ querystring(params, view='mine', after=none) }}", params=params) == (
        "?view=mine&amp;q=a+b&amp;priority=high&amp;priority=urgent")
    assert _render("{{ querystring(params, q=none) }}", params=QueryDict("q=x")) == "?"
    assert _render("{{ querystring(params, q=none) }}", params=QueryDict("")) == ""


def test_the_iso_and_linebreaksbr_filters_are_djangos():
    import datetime as dt

    moment = dt.datetime(2026, 12, 6, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert _render("{{ moment|iso }}", moment=moment) == "2026-12-06T08:30:00+00:00"
    assert _render("{{ none|iso }}") == ""
    assert _render("{{ text|linebreaksbr }}", text="a <b>\nc") == "a &lt;b&gt;<br>c"
    assert _render('{{ text|linebreaksbr or "—" }}', text="") == "—"
