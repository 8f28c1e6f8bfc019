"""Index changes a large installation can run while it keeps taking webhooks.

On PostgreSQL an index is built with CREATE INDEX CONCURRENTLY (no lock that blocks writes); a
changed index is built under a temporary name, the old one dropped concurrently and the new one
renamed, so queries always have one of the two. A migration that uses these is not atomic
(``atomic = False``): CONCURRENTLY cannot run in a transaction, and each step is safe to run again
after an interruption. Elsewhere (SQLite for ``make run``) the index is simply (re)built; Django
leaves out INCLUDE where the database has no covering indexes.

Django's own ``AddIndexConcurrently`` is PostgreSQL-only; these take the same path there and a plain
one on SQLite, as ``RunPython`` callables whose state change the migration states beside them.

A partitioned table (the responses, by month: core.partitions) takes no CONCURRENTLY index of its
own: the new index is created on the parent alone (``ON ONLY``, invalid until complete), built
concurrently on each partition and attached partition by partition; once every partition's is
attached the parent's is valid. The old one is then dropped with a plain DROP INDEX (a partitioned
index cannot be dropped concurrently: a brief exclusive lock, no build under it)."""

from collections.abc import Callable

from django.db import models


def _model(apps, label: str):
    app_label, model_name = label.split(".")
    return apps.get_model(app_label, model_name)


def create_index(label: str, index: models.Index) -> Callable:
    """A RunPython callable creating ``index`` on the model ``label`` ("app.Model")."""

    def create(apps, schema_editor):
        model = _model(apps, label)
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.add_index(model, index)
            return
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{index.name}"')  # an interrupted run
        schema_editor.execute(index.create_sql(model, schema_editor, concurrently=True))

    return create


def drop_index(name: str) -> Callable:
    """A RunPython callable dropping the index ``name`` (the reverse of create_index)."""

    def drop(apps, schema_editor):
        concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
        schema_editor.execute(f'DROP INDEX{concurrently} IF EXISTS "{name}"')

    return drop


def _partitions(schema_editor, table: str) -> list[str] | None:
    """The partitions of a partitioned table (by name), or None for a plain table."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
        if not row or not row[0]:
            return None
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname", [table])
        return [name for (name,) in cursor.fetchall()]


def _child_name(index_name: str, table: str, partition: str) -> str:
    """A partition's index name: the index's, suffixed with what the partition's name adds to the
    table's (``p202612``, ``default``); PostgreSQL's limit of 63 bytes kept."""
    suffix = partition[len(table) + 1:] if partition.startswith(f"{table}_") else partition
    return f"{index_name[:62 - len(suffix)]}_{suffix}"


def _replace_partitioned(schema_editor, model, index: models.Index, building: models.Index,
                         partitions: list[str]) -> None:
    table = model._meta.db_table
    parent_sql = str(building.create_sql(model, schema_editor))
    schema_editor.execute(f'DROP INDEX IF EXISTS "{building.name}"')  # an interrupted run (and its children)
    schema_editor.execute(parent_sql.replace(f'ON "{table}"', f'ON ONLY "{table}"', 1))
    for partition in partitions:
        child = _child_name(building.name, table, partition)
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{child}"')  # built, not attached
        child_sql = parent_sql.replace(f'"{building.name}"', f'"{child}"', 1).replace(
            f'ON "{table}"', f'ON "{partition}"', 1)
        schema_editor.execute(child_sql.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1))
        schema_editor.execute(f'ALTER INDEX "{building.name}" ATTACH PARTITION "{child}"')
    schema_editor.execute(f'DROP INDEX IF EXISTS "{index.name}"')
    schema_editor.execute(f'ALTER INDEX "{building.name}" RENAME TO "{index.name}"')
    for partition in partitions:
        schema_editor.execute(f'ALTER INDEX "{_child_name(building.name, table, partition)}" '
                              f'RENAME TO "{_child_name(index.name, table, partition)}"')


def replace_index(label: str, index: models.Index, temporary: str) -> Callable:
    """A RunPython callable replacing the index named ``index.name`` with ``index`` (new columns or
    INCLUDE list), built under the name ``temporary`` then renamed."""

    def replace(apps, schema_editor):
        model = _model(apps, label)
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.execute(f'DROP INDEX IF EXISTS "{index.name}"')
            schema_editor.add_index(model, index)
            return
        building = index.clone()  # the same columns or expressions, condition and INCLUDE list
        building.name = temporary
        partitions = _partitions(schema_editor, model._meta.db_table)
        if partitions is not None:
            _replace_partitioned(schema_editor, model, index, building, partitions)
            return
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{temporary}"')
        schema_editor.execute(building.create_sql(model, schema_editor, concurrently=True))
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{index.name}"')
        schema_editor.execute(f'ALTER INDEX "{temporary}" RENAME TO "{index.name}"')

    return replace
