"""Model instances from a `values()` query, without Django's per-instance machinery.

`lean_instances(model, rows, names, using)` turns dicts read by `queryset.values(*names)` into
instances of `model` with the related objects the names reach (`"customer__name"`, `"alert__rule__metric"`)
cached as select_related would cache them: `case.customer` reads no query, `case.customer` is None
where the key is NULL. A name not read is deferred as with `only()` (reading it queries the row).

Why: a page of fifty cases with five related rows each cost about 300 `Model.__init__` and
`from_db` calls plus the select_related populators, a tenth of the inbox page's CPU
(bench/page_cpu.py); here each instance is `Model.__new__` with its values in `__dict__`, which
is what `from_db` leaves, minus the pre_init/post_init signals (no receiver in this project listens
to them for these models; tests/inbox/test_lean_rows.py checks the instances equal the ORM's).
Other keys of a row (annotations) are set on the root instance too, as the ORM sets them.

Names are field names or attnames of `model` (`team_id`), and related paths ending in a field
(`alert__rule` is the alert's rule id); every related object along a path is reached through a
forward foreign key whose target is the related model's primary key."""

from __future__ import annotations

from functools import lru_cache

from django.db.models.base import ModelState


def lean_instances(model, rows: list[dict], names, using: str = "default") -> list:
    plan = _plan(model, tuple(names))
    return [_build(plan, row, using) for row in rows]


@lru_cache(maxsize=64)
def _plan(model, names: tuple[str, ...]):
    """Per object path, parents first: (path, model, [(key, attname)], parent path, the parent's
    key attname, the cache name on the parent)."""
    groups: dict[tuple, list] = {(): []}
    models = {(): model}
    links = {}
    for name in names:
        *path, last = name.split("__")
        current = model
        for depth, part in enumerate(path):
            field = current._meta.get_field(part)
            here = tuple(path[: depth + 1])
            if here not in models:
                models[here] = field.related_model
                links[here] = (tuple(path[:depth]), field.attname, field.cache_name)
                groups[here] = [(None, field.related_model._meta.pk.attname)]
            current = field.related_model
        groups[tuple(path)].append((name, current._meta.get_field(last).attname))
    steps = []
    for path in sorted(groups, key=len):
        parent, key, cache_name = links.get(path, (None, None, None))
        steps.append((path, models[path], tuple(groups[path]), parent, key, cache_name))
    return tuple(steps), frozenset(name for name in names)


def _new(model, values: dict, using: str):
    instance = model.__new__(model)
    instance.__dict__.update(values)
    state = instance._state = ModelState()
    state.adding = False
    state.db = using
    return instance


def _build(plan, row: dict, using: str):
    steps, names = plan
    objects: dict[tuple, object] = {}
    for path, model, pairs, parent_path, key, cache_name in steps:
        if not path:
            values = {attname: row[name] for name, attname in pairs}
            values.update((name, value) for name, value in row.items() if name not in names)
            objects[path] = _new(model, values, using)
            continue
        parent = objects[parent_path]
        if parent is None:
            objects[path] = None
            continue
        pk = parent.__dict__[key]
        instance = None
        if pk is not None:
            values = {attname: (pk if name is None else row[name]) for name, attname in pairs}
            instance = _new(model, values, using)
        parent._state.fields_cache[cache_name] = instance
        objects[path] = instance
    return objects[()]


def select_related_names(model, paths) -> tuple[str, ...]:
    """The values() names that read what `select_related(*paths)` reads: every concrete field of
    `model` and of each related model along each path (`"alert__rule"`: the alert's and its
    rule's), so lean_instances builds what the ORM's select_related builds."""
    names = [field.attname for field in model._meta.concrete_fields]
    seen = set()
    for path in paths:
        current, prefix = model, ""
        for part in path.split("__"):
            field = current._meta.get_field(part)
            prefix = f"{prefix}{part}__"
            current = field.related_model
            if prefix in seen:
                continue
            seen.add(prefix)
            names += [prefix + related.name for related in current._meta.concrete_fields]
    return tuple(names)
