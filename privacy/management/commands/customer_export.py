import json

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from privacy.management.commands._lookup import find_customer
from privacy.models import PrivacyLog
from privacy.services import customer_export


class Command(BaseCommand):
    help = "Print (or write) everything stored about one customer as JSON. Audited."

    def add_arguments(self, parser):
        parser.add_argument("customer", help="Customer id, external id or e-mail.")
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        parser.add_argument("--reason", default="", help="Request reference for the audit log.")

    def handle(self, customer, output=None, reason="", **options):
        found = find_customer(customer)
        data = customer_export(customer_id=found.pk, via=PrivacyLog.Via.COMMAND, reason=reason)
        text = json.dumps(data, cls=DjangoJSONEncoder, indent=2)
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
            self.stderr.write(f"Wrote customer {found.pk}'s data to {output}.")
        else:
            self.stdout.write(text)
