"""Rows a batch writes, gathered and written together: one statement per table instead of one
round trip per row.

A worker recording a batch of deliveries in one transaction (surveys.services.deliveries_process)
runs it inside `unit_of_work()`. There, `insert(obj)` gives the new row its id at
once (taken from the table's sequence, a batch's worth per statement) and keeps it, and
`update(obj, fields)` keeps a change to a row that exists. They are written when the block calls
`flush()` or ends, inserts in the order their tables were first seen: COPY for rows with ids, a
multi-row INSERT for rows without (`insert_all`, ON CONFLICT DO NOTHING where asked), then one
UPDATE ... FROM (VALUES ...) per table and set of changed fields. Every foreign key Django creates
is checked at commit (DEFERRABLE INITIALLY DEFERRED), so a row may name another one that is still
waiting. Outside such a block `insert(obj)` is a plain INSERT.

SQLite (the embedded setup of `make run`) takes the same path; only the statements it lacks
differ: ids come from sqlite_sequence instead of a sequence, multi-row INSERTs stand in for COPY,
Django's bulk_update for UPDATE ... FROM (VALUES ...).

Work that takes locks (opening a case locks the customer and the team) can be put off to the end
of the batch with `later(fn)`: it runs after every response of the batch is written, so the locks
are held for the shortest time and its reads see the whole batch. What a later stage gathers for
the batch lives in an object of its own, `state(Kind)` (one per batch and class: cases keeps its
CaseOpenings there and puts off `later(lambda: open them)` with a closure over it).

    with transaction.atomic(), unit_of_work(size_hint=100) as uow:
        for delivery in batch:
            record(delivery)          # calls insert(...) for its rows
    # at the end of the block: what waits is written, what was put off runs (at_end last), inside
    # the transaction

Ids taken from a sequence and not used leave gaps, as a rolled-back INSERT does; nothing relies
on ids being dense (case references are made from the id, so case ids are taken one opening at a
time: see `next_id(..., exact=True)`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.db import connection, models

_current: ContextVar[UnitOfWork | None] = ContextVar("closeloop_unit_of_work", default=None)
_sequences: dict[type, str] = {}
S = TypeVar("S")


class UnitOfWork:
    def __init__(self, size_hint: int):
        self.size_hint = max(1, size_hint)
        self._rows: dict[tuple[type, bool], list[models.Model]] = {}
        self._ids: dict[type, list[int]] = {}
        self._staged: set[tuple[type, int]] = set()
        self._later: list[Callable[[], None]] = []
        self._at_end: dict = {}
        self._inserted: set[tuple[type, int]] = set()
        self._updates: dict[tuple[type, int], tuple[models.Model, set[str]]] = {}
        self._state: dict[type, object] = {}

    # --- ids -------------------------------------------------------------------------------
    def next_id(self, model: type[models.Model], *, exact: bool = False) -> int:
        """A new id from `model`'s sequence. Taken `size_hint` at a time, or one at a time with
        `exact` (ids a person reads, such as case references, should not jump)."""
        pool = self._ids.setdefault(model, [])
        if not pool:
            pool.extend(reversed(_take_ids(model, 1 if exact else self.size_hint)))
        return pool.pop()

    # --- rows ------------------------------------------------------------------------------
    def insert(self, obj: models.Model, *, ignore_conflicts: bool = False, with_id: bool = True) -> models.Model:
        """Keep `obj` for the flush. `with_id`: give it its id now (rows other rows point to, or
        whose id is used before the flush); rows inserted with `ignore_conflicts` get none."""
        model = type(obj)
        if obj.pk is None and with_id and not ignore_conflicts:
            obj.pk = self.next_id(model)
        self._rows.setdefault((model, ignore_conflicts), []).append(obj)
        if obj.pk is not None:
            self._staged.add((model, obj.pk))
            self._inserted.add((model, obj.pk))
        obj._state.adding = False  # as after save(): it is a row of this transaction now
        obj._state.db = connection.alias
        return obj

    def update(self, obj: models.Model, fields: list[str]) -> None:
        """Write `fields` of `obj` (a row that exists) at the next flush, with the other rows
        that change the same fields: one UPDATE for them all. Only the named fields are
        written, so a concurrent change to another field is not overwritten."""
        key = (type(obj), obj.pk)
        if key in self._updates:
            self._updates[key][1].update(fields)
        else:
            self._updates[key] = (obj, set(fields))

    def is_staged(self, obj: models.Model) -> bool:
        """True while `obj` waits to be inserted (an UPDATE of it would find no row)."""
        return obj.pk is not None and (type(obj), obj.pk) in self._staged

    def inserted(self, obj: models.Model) -> bool:
        """True when `obj` is a row this unit of work inserted (flushed or not): no other
        transaction can see it, let alone have rows that point to it."""
        return obj.pk is not None and (type(obj), obj.pk) in self._inserted

    def flush(self) -> None:
        """Insert what waits, one statement per table: COPY for rows that have their ids (no
        SQL to build or parse per row), a multi-row INSERT for the others (on SQLite, multi-row
        INSERTs for all)."""
        rows, self._rows = self._rows, {}
        self._staged.clear()
        for (model, ignore_conflicts), objs in rows.items():
            if ignore_conflicts or connection.vendor != "postgresql" or any(obj.pk is None for obj in objs):
                model.objects.bulk_create(objs, ignore_conflicts=ignore_conflicts, batch_size=1000)
            else:
                _copy(model, objs)
        updates, self._updates = self._updates, {}
        groups: dict[tuple[type, frozenset[str]], list[models.Model]] = {}
        for (model, _pk), (obj, fields) in updates.items():
            groups.setdefault((model, frozenset(fields)), []).append(obj)
        for (model, fields), objs in groups.items():
            if connection.vendor == "postgresql":
                _update(model, objs, sorted(fields))
            else:
                model.objects.bulk_update(objs, sorted(fields))

    # --- a later stage's state for this batch ---------------------------------------------
    def state(self, kind: type[S]) -> S:
        """The batch's one `kind(self)`, made on the first ask and dropped with the batch: where
        a later stage keeps what it gathers or reads once per batch, as a class of its own with
        typed attributes (cases.services.opening.CaseOpenings, cases.notifications'
        NotificationsOff). Keyed by the class, so two stages never share one by accident."""
        found = self._state.get(kind)
        if found is None:
            found = self._state[kind] = kind(self)
        return found  # type: ignore[return-value]

    # --- work put off ----------------------------------------------------------------------
    def later(self, fn: Callable[[], None]) -> None:
        """Run `fn` once the rows waiting now are written, before the batch ends (see the module)."""
        self._later.append(fn)

    def at_end(self, key, fn: Callable[[], None]) -> None:
        """Run `fn` once when the unit of work ends, after what was put off; a later `fn` for the
        same key replaces an earlier one (one UPDATE with the last value, not one per change)."""
        self._at_end.pop(key, None)
        self._at_end[key] = fn

    def finish(self) -> None:
        self.run_later()
        ends, self._at_end = self._at_end, {}
        for fn in ends.values():
            fn()
        self.flush()

    def run_later(self) -> None:
        """Write what waits, then run what was put off, in order (it may put off more)."""
        while self._later:
            self.flush()
            work, self._later = self._later, []
            for fn in work:
                fn()


def _copy(model: type[models.Model], objs: list[models.Model]) -> None:
    """COPY `objs` into their table: each field's value prepared as bulk_create prepares it
    (auto_now stamps, related objects' ids, JSON), sent in COPY's format."""
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    # COPY goes to psycopg's own cursor: its errors are made Django's (an IntegrityError is one).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                obj._prepare_related_fields_for_save(operation_name="bulk_create")
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])


def _update(model: type[models.Model], objs: list[models.Model], names: list[str]) -> None:
    """One UPDATE ... FROM (VALUES ...) writing `names` of every obj (bulk_update's CASE WHEN per
    field and row costs far more to build)."""
    qn = connection.ops.quote_name
    pk = model._meta.pk
    fields = [model._meta.get_field(name) for name in names]
    columns = [pk, *fields]
    row = "(" + ", ".join(f"%s::{f.cast_db_type(connection)}" for f in columns) + ")"
    assignments = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in fields)
    for start in range(0, len(objs), 1000):
        chunk = objs[start:start + 1000]
        params = [f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in chunk for f in columns]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {qn(model._meta.db_table)} AS t SET {assignments} FROM (VALUES "
                f"{', '.join([row] * len(chunk))}) AS v({', '.join(qn(f.column) for f in columns)}) "
                f"WHERE t.{qn(pk.column)} = v.{qn(pk.column)}", params)


def _take_ids(model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    if connection.vendor == "sqlite":
        return _take_sqlite_ids(table, model._meta.pk.column, count)
    with connection.cursor() as cursor:
        if model not in _sequences:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
            _sequences[model] = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [_sequences[model], count])
        return [row[0] for row in cursor.fetchall()]


def _take_sqlite_ids(table: str, column: str, count: int) -> list[int]:
    """SQLite has no sequences: its AUTOINCREMENT tables keep their last id in sqlite_sequence.
    Move it on by `count` (under the write lock every transaction takes at BEGIN IMMEDIATE, see
    config.settings), so a plain INSERT later in the transaction gets an id after these."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX({qn(column)}), 0) FROM {qn(table)}")
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        first = max(top, row[0] if row else 0) + 1
        if row:
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first + count - 1, table])
        else:
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, first + count - 1])
    return list(range(first, first + count))


@contextmanager
def unit_of_work(*, size_hint: int = 100) -> Iterator[UnitOfWork]:
    """Gather inserts (see the module). Use inside a transaction. The rows are flushed when the
    block ends normally; when it raises, they are dropped with the transaction."""
    uow = UnitOfWork(size_hint)
    token = _current.set(uow)
    try:
        yield uow
        uow.finish()
    finally:
        _current.reset(token)


def current() -> UnitOfWork | None:
    return _current.get()


def insert(obj: models.Model) -> models.Model:
    """Insert `obj`: given its id and kept for the unit of work's flush inside one, saved now
    outside."""
    uow = _current.get()
    if uow is not None:
        return uow.insert(obj)
    obj.save(force_insert=True)
    return obj


def insert_all(objs: list[models.Model], *, ignore_conflicts: bool = False) -> list[models.Model]:
    uow = _current.get()
    if uow is None:
        if objs:
            type(objs[0]).objects.bulk_create(objs, ignore_conflicts=ignore_conflicts)
        return objs
    for obj in objs:  # rows nothing points to: their ids come back from the INSERT
        uow.insert(obj, ignore_conflicts=ignore_conflicts, with_id=False)
    return objs


def is_staged(obj: models.Model) -> bool:
    uow = _current.get()
    return uow is not None and uow.is_staged(obj)
