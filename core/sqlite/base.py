"""SQLite for `make run`: Django's backend, with the product's triggers kept across table rebuilds.

The rollups, the responses' case flags and the cases' response keys are kept by database triggers
(docs/reporting.md "Rollups"). SQLite cannot alter most columns in place, so Django rebuilds a
table to add or change one: it creates the new table, copies the rows, drops the old one and
renames the new one. That loses every trigger on the rebuilt table, and the rename itself fails
while any trigger elsewhere names the table that is, for that moment, gone ("error in trigger ...:
no such table"). So every trigger is set aside before a rebuild and created again, as it was, after
it: a migration can then add a column to any table, whichever triggers exist. PostgreSQL alters
tables in place and needs none of this."""

from django.db.backends.sqlite3 import base, schema


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _remake_table(self, model, create_field=None, delete_field=None, alter_fields=None):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
        super()._remake_table(model, create_field=create_field, delete_field=delete_field, alter_fields=alter_fields)
        with self.connection.cursor() as cursor:
            for _name, sql in triggers:
                cursor.execute(sql)


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
