"""Cases by closure time with the customer, the creation time and the opening response: the Contact
report's breach statement (reporting.selectors.contact) reads the cases that can reach a period,
open (closed_at NULL) or closed since its start minus the rest days, as two index-only range reads
instead of a scan of every case (about 300,000 of 1,000,000 cases for 90 days; the scan read the
whole table, 0.5-1 s at 10,000,000 responses). Built with CREATE INDEX CONCURRENTLY on PostgreSQL
(core/online_indexes.py), so the migration is not atomic."""

from django.db import migrations, models

from core.online_indexes import create_index, drop_index

INDEX = models.Index(fields=["closed_at"], name="cases_case_contact_reach", include=["customer", "created_at", "response"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0028_case_response_answered_at")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create_index("cases.Case", INDEX), drop_index(INDEX.name),
                                                      elidable=False)],
            state_operations=[migrations.AddIndex(model_name="case", index=INDEX)],
        ),
    ]
