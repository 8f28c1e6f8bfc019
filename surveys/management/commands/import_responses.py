"""python manage.py import_responses --source S FILE.csv

Each row goes through the same path as a webhook: the generic adapter (with the source's mapping,
or the column names nps, csat, ces, comment, email, customer_id, response_id, answered_at, ...)
and then response_record. Re-running the same file imports nothing twice."""

import csv
import hashlib
import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from surveys.adapters import Ignored, MappingError
from surveys.adapters import generic
from surveys.models import FeedbackKind, WebhookSource
from surveys.services import InvalidResponse, response_record


class Command(BaseCommand):
    help = "Import survey responses from a CSV file through the webhook pipeline (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="Slug of the webhook source the responses belong to.")
        parser.add_argument("file")
        parser.add_argument("--delimiter", default=",")

    def handle(self, *args, source, file, delimiter, **options):
        try:
            source_obj = WebhookSource.objects.get(slug=source)
        except WebhookSource.DoesNotExist:
            raise CommandError(f"No webhook source {source!r}.") from None
        mapping = source_obj.mapping if source_obj.vendor == "generic" else {}
        try:
            handle = open(file, newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(str(exc)) from None
        imported = duplicates = 0
        failed: list[tuple[int, str]] = []
        now = timezone.now()
        with handle:
            total = max(sum(1 for _ in handle) - 1, 0)
            handle.seek(0)
            reader = csv.DictReader(handle, delimiter=delimiter)
            for number, row in enumerate(tqdm(reader, total=total, unit="row", file=self.stderr._out), start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                fallback = "csv-" + hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()[:32]
                try:
                    normalized = generic.normalize(row, mapping, now, source_name=source_obj.name,
                                                   fallback_response_id=fallback,
                                                   unsolicited=FeedbackKind.unsolicited(source_obj.feedback_kind))
                    if isinstance(normalized, Ignored):
                        raise MappingError(normalized.reason)
                    with transaction.atomic():
                        _response, created = response_record(source=source_obj, normalized=normalized)
                except (MappingError, InvalidResponse) as exc:
                    failed.append((number, str(exc)))
                    continue
                imported += created
                duplicates += not created
        self.stdout.write(f"Imported {imported}, duplicates {duplicates}, failed {len(failed)}.")
        for number, reason in failed[:100]:
            self.stdout.write(f"  row {number}: {reason}")
        if len(failed) > 100:
            self.stdout.write(f"  ... and {len(failed) - 100} more failed rows")
        if failed:
            self.stdout.write("Failed rows: " + ", ".join(str(n) for n, _ in failed))
