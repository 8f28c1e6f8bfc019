"""Record one e-mail read from standard input (RFC 822), as the inbound doors do: the door for a
mail server that pipes messages to a command (Postfix pipe(8), Exim's pipe transport)."""

import sys

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Record the e-mail on standard input on its case (once per Message-ID); prints what became of it."

    def add_arguments(self, parser):
        parser.add_argument("--sender", default=None, help="The envelope sender, when the mail server passes it.")
        parser.add_argument("--recipient", default=None, help="The envelope recipient (the reply address).")

    def handle(self, *args, sender=None, recipient=None, **options):
        from django.conf import settings

        from cases.mail.inbound import mail_receive
        from cases.mail.models import InboundMail

        raw = sys.stdin.buffer.read(settings.MAIL_INBOUND_MAX_BYTES + 1)
        if not raw.strip():
            raise CommandError("No e-mail on standard input.")
        if len(raw) > settings.MAIL_INBOUND_MAX_BYTES:
            raise CommandError(f"Larger than {settings.MAIL_INBOUND_MAX_BYTES} bytes (MAIL_INBOUND_MAX_BYTES).")
        receipt = mail_receive(raw, door=InboundMail.Door.PIPE, envelope_sender=sender, envelope_recipient=recipient)
        row = receipt.mail
        where = f" on {row.case.reference}" if row.case_id else ""
        again = "" if receipt.new else " (already recorded)"
        reason = f": {row.reason}" if row.reason else ""
        self.stdout.write(f"{row.get_outcome_display().lower()}{where}{again}{reason}")
