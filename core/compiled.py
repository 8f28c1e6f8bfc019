"""Queries compiled once per process: a `values()` queryset's SQL kept per shape and run again
with other values, without building and compiling the queryset on every request.

    rows = compiled_values(key, build, args, using="default")   # list of dicts, as values() gives

`build(args)` returns the queryset (a `values()` one) for `args`, a dict of ints, aware datetimes,
strings and tuples of those; `key` names everything else the statement's text depends on (the
view, the sort, how many teams...). The first call for a key builds the queryset twice with
sentinel arguments (every value distinct and unlike any real one), compiles both and keeps the
text with, per parameter, either the argument it came from or the constant it is. It keeps them
only when both compilations agree: the same text, every parameter either the same constant in
both or the same argument's sentinel in both. A parameter derived from an argument (`now + 2 h`)
or adapted by the database backend (SQLite's datetimes as text) fails that check, and then the
key is marked as not compilable and every call builds the queryset as before (`build(args)`,
listed). So the statement run is the one Django would have compiled for these arguments, or the
queryset itself.

Why: building and compiling the inbox's list query (a filter set, seven joins, the sort keys,
the keyset page) cost about a third of the inbox page's Python (bench/page_cpu.py), the same
every time for a given view and sort.

Rows are converted as Django converts them (the compiled query's converters: JSON, encrypted
fields...) with the connection in use, so each thread runs on its own connection.

    n = compiled_count(key, build, args, using="default")   # build(args).count()

is the same for a count: the statement is the one `count()` runs (Django's own, as it hands it to
the cursor for the sentinel arguments, taken there and not sent), kept per key under the same
checks.

`raw` (compiled_values) names columns whose converters are not run: their values are the
database's own, a str wrapped as `Raw` (JSON as its text), for a caller that decodes them only
when needed (the inbox's kept rows: cases.rows). A list built instead (not compilable) holds
converted values, as values() gives them.

`required` (either function) names arguments a statement must read: every value of each must be
a parameter of the statement, else the key is not compiled. For a builder that could leave an
argument out for some values (a filter that ignores a value it does not know), so that a
statement compiled from sentinels never drops a condition the real values would have made.

At most MAX_KEYS keys are kept per process, the oldest dropped first (a key is only a statement's
text and its parameters' places): callers whose keys hold values chosen by the request (the
inbox's filters) cannot grow it without bound."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from dataclasses import dataclass
from typing import Any, Callable

from django.db import connections
from django.db.models import QuerySet

MAX_KEYS = 2048


@dataclass(frozen=True)
class _Compiled:
    sql: str
    slots: tuple  # per parameter: ("arg", name, index or None) or ("const", value)
    names: tuple[str, ...]  # the row dicts' keys, as ValuesIterable names them
    converters: tuple  # (position, converters, expression), as SQLCompiler.get_converters gives them


class Raw(str):
    """A column's value as the database sent it, its converters not run (compiled_values' `raw`)."""

    __slots__ = ()


@dataclass(frozen=True)
class _CompiledCount:
    sql: str
    slots: tuple


_NOT_COMPILABLE = object()
_cache: dict[tuple, Any] = {}
_lock = threading.Lock()


def _sentinels(args: dict, series: int) -> tuple[dict, dict]:
    """Arguments of the same kinds as `args`, every value distinct (in `series` 1 or 2), and the
    map from each sentinel value to (argument name, index in a tuple or None)."""
    counter = itertools.count()
    where: dict = {}

    def one(value, name, index):
        n = next(counter)
        if isinstance(value, bool) or value is None:
            raise TypeError(f"argument {name!r}: no sentinel for {value!r}")
        if isinstance(value, int):
            sentinel = -(series * 100_000_000 + 7_000_000 + n)
        elif isinstance(value, dt.datetime):
            sentinel = dt.datetime(1900 + series, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=n + 1)
        elif isinstance(value, str):
            sentinel = f"\x1fcompiled-{series}-{n}\x1f"
        else:
            raise TypeError(f"argument {name!r}: no sentinel for {type(value).__name__}")
        where[sentinel] = (name, index)
        return sentinel

    made = {}
    for name, value in args.items():
        if isinstance(value, tuple):
            made[name] = tuple(one(item, name, i) for i, item in enumerate(value))
        else:
            made[name] = one(value, name, None)
    return made, where


def _compile(queryset: QuerySet, using: str):
    compiler = queryset.query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    return compiler, sql, list(params)


def _slots(params: list, params2: list, first_where: dict, second_where: dict, first: dict,
           required: tuple[str, ...]) -> tuple | None:
    """Per parameter of the statement compiled with the first sentinels (`params`) and with the
    second (`params2`): ("arg", name, index) or ("const", value); None when a parameter is neither
    (derived from an argument, adapted by the backend) or a required argument's value is not read."""
    if len(params) != len(params2):
        return None
    slots, read = [], set()
    for one, two in zip(params, params2, strict=True):
        source = first_where.get(one) if _hashable(one) else None
        if source is not None:
            if not _hashable(two) or second_where.get(two) != source:
                return None
            slots.append(("arg", *source))
            read.add(source)
        elif type(one) is type(two) and one == two and not (_hashable(two) and two in second_where):
            slots.append(("const", one))
        else:
            return None  # derived from an argument, or adapted by the backend
    for name in required:
        value = first[name]
        wanted = {(name, i) for i in range(len(value))} if isinstance(value, tuple) else {(name, None)}
        if not wanted <= read:
            return None
    return tuple(slots)


def _prepare(build: Callable[[dict], QuerySet], args: dict, using: str, required: tuple[str, ...]):
    first, first_where = _sentinels(args, 1)
    second, second_where = _sentinels(args, 2)
    queryset = build(first)
    compiler, sql, params = _compile(queryset, using)
    _compiler2, sql2, params2 = _compile(build(second), using)
    slots = _slots(params, params2, first_where, second_where, first, required) if sql == sql2 else None
    if slots is None:
        return _NOT_COMPILABLE
    query = queryset.query
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    fields = [select[0] for select in compiler.select[: compiler.col_count]]
    if len(names) != len(fields):
        return _NOT_COMPILABLE
    converters = tuple((position, tuple(convs), expression)
                       for position, (convs, expression) in compiler.get_converters(fields).items())
    return _Compiled(sql, slots, names, converters)


class _NotSent(Exception):
    """Raised in place of sending a statement that was only to be compiled."""


def _count_statement(queryset: QuerySet, using: str):
    """The one statement `queryset.count()` would send, taken as Django hands it to the cursor and
    not sent (nor logged as run), or None when it would send none or several."""
    taken = []

    def take(execute, sql, params, many, context):
        taken.append((sql, list(params or ())))
        raise _NotSent

    connection = connections[using]
    logged, connection.force_debug_cursor = connection.force_debug_cursor, False
    try:
        with connection.execute_wrapper(take):
            queryset.using(using).count()
    except _NotSent:
        pass
    finally:
        connection.force_debug_cursor = logged
    return taken[0] if len(taken) == 1 else None


def _prepare_count(build: Callable[[dict], QuerySet], args: dict, using: str, required: tuple[str, ...]):
    first, first_where = _sentinels(args, 1)
    second, second_where = _sentinels(args, 2)
    one, two = _count_statement(build(first), using), _count_statement(build(second), using)
    if one is None or two is None or one[0] != two[0]:
        return _NOT_COMPILABLE
    slots = _slots(one[1], two[1], first_where, second_where, first, required)
    return _NOT_COMPILABLE if slots is None else _CompiledCount(one[0], slots)


def _kept(cache_key: tuple, prepare) -> Any:
    compiled = _cache.get(cache_key)
    if compiled is None:
        compiled = prepare()
        with _lock:
            while len(_cache) >= MAX_KEYS:
                _cache.pop(next(iter(_cache)), None)
            _cache[cache_key] = compiled
    return compiled


def _params(slots: tuple, args: dict) -> list:
    return [slot[1] if slot[0] == "const" else (args[slot[1]] if slot[2] is None else args[slot[1]][slot[2]])
            for slot in slots]


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def compiled_values(key: tuple, build: Callable[[dict], QuerySet], args: dict, using: str = "default",
                    required: tuple[str, ...] = (), raw: frozenset[str] = frozenset()) -> list[dict]:
    """The rows of `build(args)` (a values() queryset), from its SQL compiled once for `key`."""
    if any(isinstance(value, tuple) and not value for value in args.values()):
        return list(build(args))  # `IN ()`: Django answers without a statement
    compiled = _kept((using, key), lambda: _prepare(build, args, using, required))
    if compiled is _NOT_COMPILABLE:
        return list(build(args))
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, _params(compiled.slots, args))
        rows = cursor.fetchall()
    names = compiled.names
    raw_positions = frozenset(position for position, name in enumerate(names) if name in raw) if raw else ()
    out = []
    for row in rows:
        if compiled.converters:
            row = list(row)
            for position, convs, expression in compiled.converters:
                value = row[position]
                if position in raw_positions and type(value) is str:
                    row[position] = Raw(value)  # as sent: the caller decodes it if it needs it
                    continue
                for converter in convs:
                    value = converter(value, expression, connection)
                row[position] = value
        out.append(dict(zip(names, row)))
    return out


def compiled_count(key: tuple, build: Callable[[dict], QuerySet], args: dict, using: str = "default",
                   required: tuple[str, ...] = ()) -> int:
    """`build(args).count()`, from the statement it sends kept once for `key` (its own namespace:
    not a key of compiled_values)."""
    if any(isinstance(value, tuple) and not value for value in args.values()):
        return build(args).using(using).count()
    compiled = _kept((using, "count", key), lambda: _prepare_count(build, args, using, required))
    if compiled is _NOT_COMPILABLE:
        return build(args).using(using).count()
    with connections[using].cursor() as cursor:
        cursor.execute(compiled.sql, _params(compiled.slots, args))
        return cursor.fetchone()[0]


def is_compiled(key: tuple, using: str = "default") -> bool:
    """Whether `key` runs from compiled SQL (for tests: False before the first call, or when the
    shape did not compile)."""
    compiled = _cache.get((using, key), _cache.get((using, "count", key)))
    return compiled is not None and compiled is not _NOT_COMPILABLE
