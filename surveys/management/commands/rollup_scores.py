"""`python manage.py rollup_scores [--rebuild]`

The daily score rollup that the Scores page and the score-trend API read (surveys.rollups).
Without options: fold its fresh deltas now (what the beat task does every minute). --rebuild:
recreate its triggers with the current TIME_ZONE and rebuild it from every response (the
backfill; run it after changing TIME_ZONE or restoring responses from elsewhere). Writes to
responses wait while it runs; running it twice gives the same rollup."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from surveys import rollups


class Command(BaseCommand):
    help = __doc__.split("\n\n")[1].replace("\n", " ")

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Recreate the triggers and rebuild the rollup from every response.",
        )

    def handle(self, *args, rebuild: bool = False, **options):
        started = time.monotonic()
        if rebuild:
            rows = rollups.rebuild()
            self.stdout.write(
                f"Rebuilt the score rollup: {rows} rows in {time.monotonic() - started:.1f} s."
            )
        else:
            folded = rollups.compact()
            self.stdout.write(
                f"Folded {folded} rollup rows in {time.monotonic() - started:.1f} s."
            )
