"""After a new key is put first in CLOSELOOP_ENCRYPTION_KEYS: encrypt every stored secret again with
it (core.crypto), so the old key can be removed. Safe to run twice."""

from django.core.management.base import BaseCommand

from surveys.models import WebhookSource
from surveys.selectors import webhook_sources_changed


class Command(BaseCommand):
    help = "Encrypt webhook secrets and vendor credentials again with the first key in CLOSELOOP_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        count = 0
        for source in WebhookSource.objects.order_by("pk").iterator():
            source.save(update_fields=["secret", "previous_secret", "auth"])  # read with any key, written with the first
            count += 1
        webhook_sources_changed()
        self.stdout.write(f"Encrypted the secrets of {count} sources with the first key.")
