"""Saved views: create, rename (or re-point), delete, and list with counts.

Every write goes through these functions (the inbox page and /api/v1/saved-views/ both call them)
and validates the params with the inbox's own CaseFilterSet, so a saved view holds only what the
filter form accepts. Reads are scoped to the owner: another person's saved view is "not found".

Counts: one COUNT per saved view, the same query the inbox runs for the view's match count
(cases.filtersets.inbox_filterset), cached for COUNT_TTL seconds under the view's id and last
change, so a list of views costs at most MAX_PER_OWNER counts and usually none."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, router, transaction
from django.utils.translation import gettext

from cases import columns
from cases.filtersets import PAGING_PARAMS, inbox_filterset
from cases.saved_views.models import SavedView
from cases.selectors import INBOX_VIEWS
from core.compiled import compiled_values
from core.lean import lean_instances

MAX_PER_OWNER = 30
COUNT_TTL = 30  # seconds a count may lag behind the inbox (the open view's own count is live)
NAME_MAX = SavedView._meta.get_field("name").max_length


class SavedViewNotFound(ObjectDoesNotExist):
    """No saved view with that id belongs to this person."""


@dataclass(frozen=True)
class SavedViewRow:
    saved_view: SavedView
    count: int
    query: str  # the inbox query string that opens it (no leading "?")


def filter_keys(user) -> dict[str, str]:
    """Every query parameter CaseFilterSet reads, to the form field that reads it (a date range
    reads two: created_after and created_before), plus the inbox's view and its columns."""
    form = inbox_filterset(user, {}).form
    keys = {"view": "view", columns.PARAM: columns.PARAM}
    for name, field in form.fields.items():
        suffixes = getattr(field.widget, "suffixes", None)  # django-filter's range widgets
        keys.update({(f"{name}_{suffix}" if suffix else name): name for suffix in suffixes} if suffixes
                    else {name: name})
    return keys


def _means_any(value) -> bool:
    """A cleaned filter value that filters nothing: empty, "either" (None) or an open range."""
    if isinstance(value, slice):
        return value.start is None and value.stop is None
    return value is None or value == "" or value == [] or (hasattr(value, "exists") and not value)


def clean_params(user, params) -> dict[str, list[str]]:
    """`params` (a QueryDict or a dict of a value or a list of values) as a saved view stores them:
    paging and the open panel dropped, empty values dropped, every key one the inbox reads, the
    view one of the inbox's views, every filter valid for this user and every column one the
    inbox has (kept in the table's order). ValidationError with a message per key."""
    items = params.lists() if hasattr(params, "lists") else params.items()
    cleaned: dict[str, list[str]] = {}
    errors: dict[str, list[str]] = {}
    known = filter_keys(user)
    for key, values in items:
        if key in PAGING_PARAMS or key == "panel":
            continue
        values = values if isinstance(values, list | tuple) else [values]
        if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values):
            errors[key] = ["Give a text value or a list of text values."]
            continue
        values = [str(v) for v in values if str(v).strip() != ""]
        if key not in known:
            errors[key] = [f"Not an inbox filter. Use: {', '.join(sorted(known))}."]
        elif values:
            cleaned[key] = values
    if columns.PARAM in cleaned and columns.PARAM not in errors:
        try:
            cleaned[columns.PARAM] = columns.clean_columns(cleaned[columns.PARAM])
        except ValidationError as error:
            errors.update(error.message_dict)
    view = cleaned.get("view", ["mine"])
    if len(view) != 1 or view[0] not in INBOX_VIEWS:
        errors["view"] = [f"Use one of {', '.join(INBOX_VIEWS)}."]
    if errors:
        raise ValidationError(errors)
    cleaned["view"] = view
    form = inbox_filterset(user, cleaned).form
    if not form.is_valid():
        raise ValidationError({key: [str(e) for e in messages] for key, messages in form.errors.items()})
    # What the filter form submits for "any" ("answered_again=unknown") is not worth keeping.
    return {key: values for key, values in sorted(cleaned.items())
            if key in ("view", columns.PARAM) or not _means_any(form.cleaned_data.get(known[key]))}


def _clean_name(name) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": [gettext("Give the view a name.")]})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": [gettext("Keep the name to %(count)s characters.") % {"count": NAME_MAX}]})
    return name


def _save(saved_view: SavedView) -> SavedView:
    try:
        with transaction.atomic():
            saved_view.save()
    except IntegrityError:
        raise ValidationError({"name": [gettext("You already have a view named “%(name)s”.") % {
            "name": saved_view.name}]}) from None
    return saved_view


def saved_view_create(*, owner, name, params) -> SavedView:
    name = _clean_name(name)
    if SavedView.objects.filter(owner=owner).count() >= MAX_PER_OWNER:
        raise ValidationError({"name": [gettext("You have %(count)s saved views, the most one person can keep: "
                                                "delete one first.") % {"count": MAX_PER_OWNER}]})
    return _save(SavedView(owner=owner, name=name, params=clean_params(owner, params)))


def saved_view_get(*, owner, pk) -> SavedView:
    try:
        return SavedView.objects.get(owner=owner, pk=int(pk))
    except (SavedView.DoesNotExist, TypeError, ValueError):
        raise SavedViewNotFound("No such saved view.") from None


def saved_view_update(*, owner, pk, name=None, params=None) -> SavedView:
    """Rename a saved view and/or give it new params (None: keep)."""
    saved_view = saved_view_get(owner=owner, pk=pk)
    if name is not None:
        saved_view.name = _clean_name(name)
    if params is not None:
        saved_view.params = clean_params(owner, params)
    return _save(saved_view)


def saved_view_delete(*, owner, pk) -> None:
    saved_view_get(owner=owner, pk=pk).delete()


def saved_view_query(saved_view: SavedView) -> str:
    # jsonb keeps its own key order; each key's values keep theirs (columns: the table's order).
    return urlencode(sorted(saved_view.params.items()), doseq=True)


def saved_view_count(saved_view: SavedView) -> int:
    """How many cases the saved view holds now: the inbox's own match count for its params."""
    key = f"cases:saved-view-count:{saved_view.pk}:{saved_view.updated_at.timestamp()}"
    count = cache.get(key)
    if count is None:
        count = inbox_filterset(saved_view.owner, saved_view.params).qs.count()
        cache.set(key, count, COUNT_TTL)
    return count


def saved_views_for(user) -> list[SavedViewRow]:
    """The person's saved views by name, each with its count and the query that opens it."""
    if user is None or not user.is_authenticated:
        return []
    # Read on every inbox page: the statement compiled once per process (core.compiled), the
    # instances built from its values (core.lean).
    using = router.db_for_read(SavedView)
    found = compiled_values(("cases.saved_views_for",), _saved_views_query, {"owner": user.pk}, using=using)
    rows = []
    for saved_view in lean_instances(SavedView, found, _SAVED_VIEW_FIELDS, using=using):
        saved_view.owner = user  # the counts scope by the owner: no query to fetch them again
        rows.append(SavedViewRow(saved_view, saved_view_count(saved_view), saved_view_query(saved_view)))
    return rows


_SAVED_VIEW_FIELDS = tuple(field.attname for field in SavedView._meta.concrete_fields)


def _saved_views_query(args: dict):
    return SavedView.objects.filter(owner_id=args["owner"]).order_by("name", "id").values(*_SAVED_VIEW_FIELDS)
