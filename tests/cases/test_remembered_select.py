"""core.widgets.RememberedSelect: Django's Select HTML, remembered per process only for exactly
the same inputs (name, value, attributes, choices as text, language, renderer)."""

from __future__ import annotations

from django import forms
from django.utils import translation
from django.utils.choices import BaseChoiceIterator
from django.utils.translation import gettext_lazy as _

from cases.forms import WIDGET_RENDERER
from core import widgets
from core.widgets import RememberedSelect

CHOICES = [("", "Choose…"), ("Billing", [(1, "Refund <late>"), (2, "Wrong & charged")]), ("Staff", [(3, 'Rude "agent"')])]


def _pair(choices, name="root_cause", value=None, attrs=None, own_attrs=None):
    plain = forms.Select(attrs=own_attrs, choices=choices).render(name, value, attrs, WIDGET_RENDERER)
    remembered = RememberedSelect(attrs=own_attrs, choices=choices)
    return plain, remembered.render(name, value, attrs, WIDGET_RENDERER), remembered.render(name, value, attrs, WIDGET_RENDERER)


def test_the_same_html_as_select_for_each_input():
    widgets._memo.clear()
    cases = [
        {"choices": CHOICES},
        {"choices": CHOICES, "value": 2},
        {"choices": CHOICES, "value": "3", "attrs": {"id": "close-root_cause", "aria-describedby": "close-root_cause-error"}},
        {"choices": CHOICES, "own_attrs": {"hx-get": "/cases/CL-1/playbooks/"}},
        {"choices": CHOICES[:2], "value": 2},
        {"choices": [("", "Choose…"), (1, "Refund <late>")], "name": "other"},
    ]
    for case in cases:
        plain, first, second = _pair(**case)
        assert first == plain == second, case
    assert len(widgets._memo) == len(cases)  # each input its own entry: none served another's HTML
    assert "Refund &lt;late&gt;" in _pair(CHOICES)[1]
    assert '<option value="2" selected>' in _pair(CHOICES, value=2)[1]


def test_a_renamed_choice_or_another_language_is_rendered_again():
    widgets._memo.clear()
    before = _pair(CHOICES)[1]
    renamed = [("", "Choose…"), ("Billing", [(1, "Refund, late"), (2, "Wrong & charged")]), ("Staff", [(3, 'Rude "agent"')])]
    assert "Refund, late" in _pair(renamed)[1] and "Refund, late" not in before
    lazy = [("", _("Priority")), ("x", "X")]
    with translation.override("de"):
        german = _pair(lazy)
    with translation.override("en"):
        english = _pair(lazy)
    assert german[0] == german[1] and english[0] == english[1] and german[1] != english[1]


def test_choices_that_are_an_iterator_are_listed_once_then_remembered():
    widgets._memo.clear()
    listed = []

    class Lazy(BaseChoiceIterator):  # as a ModelChoiceIterator (one query each time it is listed)
        def __iter__(self):
            listed.append(1)
            return iter([(1, "One")])

    widget = RememberedSelect()
    widget.choices = Lazy()
    assert '<option value="1">One</option>' in widget.render("x", None, None, WIDGET_RENDERER)
    assert len(listed) == 1 and len(widgets._memo) == 1


def test_text_widgets_are_remembered_only_empty_and_the_version_field_per_value():
    from core.widgets import RememberedHiddenInput, RememberedTextarea

    widgets._memo.clear()
    area = RememberedTextarea(attrs={"rows": 3})
    plain = forms.Textarea(attrs={"rows": 3})
    for value in (None, "", "what <the> person typed", "another note"):
        assert area.render("note", value, {"id": "note-note"}, WIDGET_RENDERER) == plain.render(
            "note", value, {"id": "note-note"}, WIDGET_RENDERER)
    assert len(widgets._memo) == 1  # empty: one entry; typed text is never kept
    assert not any("person typed" in html for html in widgets._memo.values())
    hidden = RememberedHiddenInput()
    assert hidden.render("version", 7, None, WIDGET_RENDERER) == '<input type="hidden" name="version" value="7">'
    assert hidden.render("version", 8, None, WIDGET_RENDERER) == '<input type="hidden" name="version" value="8">'
