"""Index changes a large installation can run while it keeps taking webhooks.

On PostgreSQL an index is built with CREATE INDEX CONCURRENTLY (no lock that blocks writes); a
changed index is built under a temporary name, the old one dropped concurrently and the new one
renamed, so queries always have one of the two. A migration that uses these is not atomic
(``atomic = False``): CONCURRENTLY cannot run in a transaction, and each step is safe to run again
after an interruption. Elsewhere (SQLite for ``make run``) the index is simply (re)built; Django
leaves out INCLUDE where the database has no covering indexes.

Django's own ``AddIndexConcurrently`` is PostgreSQL-only; these take the same path there and a plain
one on SQLite, as ``RunPython`` callables whose state change the migration states beside them."""

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


def replace_index(label: str, index: models.Index, temporary: str) -> Callable:
    """A RunPython callable replacing the index named ``index.name`` with ``index`` (new columns or
    INCLUDE list), built under the name ``temporary`` then renamed."""

    def replace(apps, schema_editor):
        model = _model(apps, label)
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.execute(f'DROP INDEX IF EXISTS "{index.name}"')
            schema_editor.add_index(model, index)
            return
        fields = [f"-{name}" if order == "DESC" else name for name, order in index.fields_orders]
        building = models.Index(fields=fields, name=temporary, include=index.include,
                                condition=index.condition, opclasses=index.opclasses)
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{temporary}"')
        schema_editor.execute(building.create_sql(model, schema_editor, concurrently=True))
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{index.name}"')
        schema_editor.execute(f'ALTER INDEX "{temporary}" RENAME TO "{index.name}"')

    return replace
