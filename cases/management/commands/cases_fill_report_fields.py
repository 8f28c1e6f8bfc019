"""Compute what reporting reads per case (business-hour durations, the customer's next answer)
for every case: cases migration 0021 runs it once; run it again after changing a team's
calendar retroactively, or after loading cases with SQL. Idempotent."""

import time

from django.core.management.base import BaseCommand

from cases.services import cases_fill_report_fields


class Command(BaseCommand):
    help = "Compute every case's stored report fields (business-hour durations, answered again). Idempotent."

    def handle(self, *args, **options):
        started = time.monotonic()
        done = cases_fill_report_fields()
        self.stdout.write(
            f"{done['cases']} cases in {time.monotonic() - started:.0f} s"
        )
