"""Filters every app's API shares."""

from __future__ import annotations

import copy
import threading
from datetime import UTC

import django_filters
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import get_language


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, compared in UTC. Python accepts any offset under 24 hours
    (`-19:35`), PostgreSQL only up to 15:59, so an offset the database would refuse is turned
    into the same instant in UTC before the query, instead of a 500."""

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)


class SharedFormFilterSet(django_filters.FilterSet):
    """A FilterSet whose form class is built once per process (and language), and whose filters
    are copied per request with copy.copy instead of copy.deepcopy.

    django-filter builds, on every request, a deep copy of every filter and then a new form class
    from the copies' fields (which Django's form deep-copies once more): about 1,000 `deepcopy`
    calls and 15 % of an inbox page's CPU (bench/page_cpu.py). Nothing in either is per request
    but two things, kept per request here:
    - a filter's `parent` (a method filter calls its FilterSet's method through it) and `model`,
      and the field kwargs in `extra`, where a filter with a callable queryset writes the
      request's queryset: each request gets a shallow copy of each filter with a dict of its own
      and a FilterMethod pointing at the copy (so at this FilterSet), never the class's filter;
    - the choices of a filter whose queryset depends on the request (`queryset=callable`): the
      shared form class has those fields with an empty queryset, and each form gets the
      request's queryset on its own fields (Form.__init__ deep-copies the class's fields, so
      nothing a request sets reaches another request).
    The shared class is never changed after it is built, so threads may share it
    (tests/inbox/test_filter_form_threads.py). Labels django-filter words from the model's
    field names are forced into the active language when the class is built: one class per
    language."""

    _shared_forms: dict = {}
    _shared_forms_lock = threading.Lock()

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {name: _bound_copy(filter_, self, queryset.model) for name, filter_ in self.base_filters.items()}

    @classmethod
    def shared_form_class(cls):
        key = (cls, get_language())
        form_class = cls._shared_forms.get(key)
        if form_class is None:
            with cls._shared_forms_lock:
                form_class = cls._shared_forms.get(key)
                if form_class is None:
                    form_class = cls._shared_forms[key] = cls._build_form_class()
        return form_class

    @classmethod
    def _build_form_class(cls):
        probe = cls(queryset=cls._meta.model._default_manager.none())  # no request: no person's choices
        form_class = super(SharedFormFilterSet, probe).get_form_class()
        for name, filter_ in probe.filters.items():
            if _per_request_queryset(filter_):
                field = form_class.base_fields[name]
                field.queryset = field.queryset.none()  # each form sets the request's (see form)
        return form_class

    def get_form_class(self):
        return self.shared_form_class()

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form_class = self.get_form_class()
            form = form_class(self.data, prefix=self.form_prefix) if self.is_bound else form_class(prefix=self.form_prefix)
            for name, filter_ in self.filters.items():
                if _per_request_queryset(filter_):
                    form.fields[name].queryset = filter_.get_queryset(self.request)
            self._form = form
        return self._form

    def filter_queryset(self, queryset):
        for name, value in self.form.cleaned_data.items():
            if isinstance(value, QuerySet) and value.query.is_empty():
                # An empty model multiple choice (the field's `queryset.none()`): no filter, as
                # django-filter decides with `if not value`, which compiles the empty query.
                continue
            queryset = self.filters[name].filter(queryset, value)
        return queryset


def _per_request_queryset(filter_) -> bool:
    return callable(getattr(filter_, "queryset", None))


def _bound_copy(filter_, parent, model):
    """`filter_` for one FilterSet: a shallow copy with its own field kwargs and method proxy."""
    bound = copy.copy(filter_)
    bound.__dict__.pop("_field", None)  # a field built for another request (or none)
    bound.extra = dict(filter_.extra)
    if filter_.method is not None:
        bound.method = filter_.method  # a FilterMethod of the copy's own, so of `parent`
    bound.model = model
    bound.parent = parent
    return bound
