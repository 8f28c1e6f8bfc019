"""Poll the IMAP mailbox of the reply addresses once (the beat does it every minute)."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Record the unseen messages of the IMAP mailbox (MAIL_IMAP_*) on their cases, once each."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="At most this many messages (default MAIL_IMAP_BATCH).")

    def handle(self, *args, limit=None, **options):
        from cases.mail.imap import poll

        result = poll(limit=limit)
        if result is None:
            raise CommandError("MAIL_IMAP_HOST is not set: there is no mailbox to poll (see docs/email.md).")
        self.stdout.write(
            f"fetched {result.fetched}, recorded {result.recorded}, duplicates {result.duplicates}, failed {result.failed}")
