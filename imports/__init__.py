"""CSV imports and bulk upserts of what a CRM knows (docs/imports.md).

The machinery only: a job (ImportJob, its file and its row errors), reading a file a person
uploads (encodings, delimiters, header aliases, limits), checking each row against the columns an
importer declares, and running the job in batches in a Celery task. What is imported is up to the
importers that higher apps register in their AppConfig.ready() (imports.registry); this app
imports core/, accounts and audit only."""
