"""Print a case's reply address (replies+<token>@domain), e.g. to test the inbound doors."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Print the reply address of a case (by reference, e.g. CL-000001)."

    def add_arguments(self, parser):
        parser.add_argument("reference")

    def handle(self, *args, reference, **options):
        from cases.mail.addresses import reply_address
        from cases.models import Case

        case_id = Case.objects.filter(reference=reference.strip().upper()).values_list("pk", flat=True).first()
        if case_id is None:
            raise CommandError(f"No case {reference}.")
        self.stdout.write(reply_address(case_id))
