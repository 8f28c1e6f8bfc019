from django.core.management.base import BaseCommand, CommandError

from privacy.management.commands._lookup import find_customer
from privacy.models import PrivacyLog
from privacy.services import customer_erase


class Command(BaseCommand):
    help = "Erase one customer's personal data, keeping anonymous aggregates. Audited; cannot be undone."

    def add_arguments(self, parser):
        parser.add_argument("customer", help="Customer id, external id or e-mail.")
        parser.add_argument("--yes", action="store_true", help="Do it (without this, only say what would happen).")
        parser.add_argument("--reason", default="", help="Request reference for the audit log.")

    def handle(self, customer, yes=False, reason="", **options):
        found = find_customer(customer)
        if not yes:
            raise CommandError(f"This would erase customer {found.pk}'s personal data. Run again with --yes.")
        summary = customer_erase(customer_id=found.pk, via=PrivacyLog.Via.COMMAND, reason=reason)
        self.stdout.write(f"Erased customer {found.pk}: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
