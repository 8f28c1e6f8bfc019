"""Form widgets whose HTML is remembered per process for the same inputs.

`RememberedSelect` is Django's Select (`RememberedTextarea`, `RememberedTextInput`,
`RememberedHiddenInput` the same for theirs): the same template, the same HTML. Its HTML is a
function of the widget's class and templates, the field's name, its value, the widget's own
attributes and those the bound field adds (id, aria-describedby...), its choices (values and
labels, as text) and the active language; with every one of those in the key, the HTML for a key
never changes, so remembering it can never show a stale or another person's select. A model
choice field's choices are listed when the widget renders (its one query, as Django's rendering
makes it); a value that cannot be part of a key is rendered as usual. Text widgets are remembered
only empty: what a person typed is never kept.

Why: the case page's close form lists every active root cause (optgroups of options, each a
Jinja2 include): about 2.5 ms of the page's CPU for the same HTML on every view
(bench/page_cpu.py); the case page shows seven selects, six text areas and a hidden version
field in each of its nine forms.
"""

from __future__ import annotations

import threading

from django import forms
from django.utils.functional import Promise
from django.utils.translation import get_language

_MAX_ENTRIES = 512  # a few KB each; the whole memo is dropped when full (the usual inputs come back)
_memo: dict[tuple, str] = {}
_lock = threading.Lock()


def _frozen(value):
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    hash(value)  # TypeError: not part of a key
    return (type(value).__name__, value)


def _choices_key(choices) -> tuple:
    if not isinstance(choices, (list, tuple)):
        raise TypeError("choices that are not a list")
    key = []
    for value, label in choices:
        if isinstance(label, (list, tuple)):  # an optgroup
            key.append((_frozen(value), tuple((_frozen(v), _frozen(l)) for v, l in label)))
        else:
            key.append((_frozen(value), _frozen(label)))
    return tuple(key)


class Remembered:
    """The widget's HTML remembered per process for the same inputs (see the module's docstring);
    mixed into a Django widget class, before it."""

    remember_any_value = True  # False: only when empty (what a person typed is never kept)

    def render(self, name, value, attrs=None, renderer=None):
        if not self.remember_any_value and self.format_value(value) not in (None, ""):
            return super().render(name, value, attrs, renderer)
        if hasattr(self, "choices") and not isinstance(self.choices, (list, tuple)):
            # A model choice field's: its one query, as rendering makes (not list(), whose length
            # hint would ask the iterator for a COUNT first).
            self.choices = [choice for choice in self.choices]
        try:
            key = (type(self), self.template_name, getattr(self, "option_template_name", None),
                   getattr(self, "allow_multiple_selected", None), name, _frozen(self.format_value(value)),
                   _frozen(self.attrs), _frozen(attrs or {}),
                   _choices_key(self.choices) if hasattr(self, "choices") else None, get_language(), renderer)
            html = _memo.get(key)
        except TypeError:
            return super().render(name, value, attrs, renderer)
        if html is None:
            html = super().render(name, value, attrs, renderer)
            with _lock:
                if len(_memo) >= _MAX_ENTRIES:
                    _memo.clear()
                _memo[key] = html
        return html


class RememberedSelect(Remembered, forms.Select):
    pass


class RememberedTextarea(Remembered, forms.Textarea):
    remember_any_value = False


class RememberedTextInput(Remembered, forms.TextInput):
    remember_any_value = False


class RememberedHiddenInput(Remembered, forms.HiddenInput):
    pass


class RememberedSelectMultiple(Remembered, forms.SelectMultiple):
    pass


class RememberedCheckboxSelectMultiple(Remembered, forms.CheckboxSelectMultiple):
    pass


def remember_choice_widget(field) -> None:
    """Give a choice field's widget its remembered class (its choices are listed when it renders:
    a model choice field's one query, as its rendering would have made)."""
    remembered = {forms.Select: RememberedSelect, forms.SelectMultiple: RememberedSelectMultiple,
                  forms.CheckboxSelectMultiple: RememberedCheckboxSelectMultiple}.get(type(field.widget))
    if remembered is None:
        return
    widget = remembered(attrs=field.widget.attrs)
    widget.choices = field.widget.choices
    widget.is_required = field.widget.is_required
    field.widget = widget
