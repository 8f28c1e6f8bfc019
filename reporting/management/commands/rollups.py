"""`python manage.py rollups [--rebuild]`

The rollups the report pages read: daily scores (surveys.rollups, the Scores page and the
score-trend API), closed cases (reporting.rollups, the root-causes page) and the daily scores of
every team together (reporting.score_totals, an admin's journey map) and theme tags
(reporting.theme_rollup, the themes page). Without options:
fold their fresh deltas now (what the beat task does every minute). --rebuild: recreate their
triggers with the current TIME_ZONE and rebuild them from every response and case (the backfill;
run it after changing TIME_ZONE or after loading rows with the triggers disabled), recompute
the responses' case flags the KPI page counts (reporting.coverage) and copy each case's response
keys (touchpoint, survey, source) from its response (cases.response_keys) and rebuild every NPS
answer's stored follow-up (reporting.followups, the closed-loop results report's rows; without
options the customers marked stale are recomputed) and the answers' breaches of the contact
policy (reporting.contact_breaches, the same); --rebuild also rebuilds each customer's latest answer
(reporting.last_answers, the segment comparison's customers). Writes to responses and cases wait while it
runs; running it twice gives the same rollups."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from cases import response_keys
from reporting import contact_breaches, coverage, followups, last_answers
from reporting.rollup_set import rollups


class Command(BaseCommand):
    help = __doc__.split("\n\n")[1].replace("\n", " ")

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Recreate the triggers and rebuild the rollups from every response and case.",
        )

    def handle(self, *args, rebuild: bool = False, **options):
        for _key, name, module in rollups():
            started = time.monotonic()
            if rebuild:
                rows = module.rebuild()
                self.stdout.write(
                    f"Rebuilt the {name} rollup: {rows} rows in {time.monotonic() - started:.1f} s."
                )
            else:
                folded = module.compact()
                self.stdout.write(
                    f"Folded {folded} {name} rollup deltas in {time.monotonic() - started:.1f} s."
                )
        if rebuild:
            started = time.monotonic()
            changed = coverage.rebuild()
            self.stdout.write(
                f"Recomputed the responses' case flags: {changed} changed in {time.monotonic() - started:.1f} s."
            )
            started = time.monotonic()
            response_keys.backfill()
            self.stdout.write(f"Copied the cases' response keys in {time.monotonic() - started:.1f} s.")
        started = time.monotonic()
        if rebuild:
            rows = followups.rebuild()
            self.stdout.write(f"Rebuilt the answers' follow-ups: {rows} rows in {time.monotonic() - started:.1f} s.")
        else:
            customers = followups.fold_all()
            self.stdout.write(f"Refreshed the follow-ups of {customers} customers in {time.monotonic() - started:.1f} s.")
        started = time.monotonic()
        if rebuild:
            rows = contact_breaches.rebuild()
            self.stdout.write(f"Rebuilt the answers' contact breaches: {rows} rows in {time.monotonic() - started:.1f} s.")
        else:
            customers = contact_breaches.fold_all()
            self.stdout.write(f"Refreshed the contact breaches of {customers} customers (or rows) in "
                              f"{time.monotonic() - started:.1f} s.")
        if rebuild:
            started = time.monotonic()
            rows = last_answers.rebuild()
            self.stdout.write(f"Rebuilt the customers' latest answers: {rows} rows in {time.monotonic() - started:.1f} s.")
