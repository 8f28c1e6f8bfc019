from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the SLA sweep once (what the every-minute beat task does): overdue, due soon, escalation."

    def add_arguments(self, parser):
        parser.add_argument("--dispatch", action="store_true", help="Also deliver the queued notifications now.")

    def handle(self, *args, dispatch, **options):
        from cases.notifications import claim_batch, deliver_claimed, no_dispatch
        from cases.services import cases_sweep_sla

        with no_dispatch():
            result = cases_sweep_sla()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in result.items()))
        if dispatch:
            sent = 0
            for _ in range(1000):  # bounded: at most 200,000 rows per run
                ids = claim_batch(200)
                if not ids:
                    break
                sent += deliver_claimed(ids)
            self.stdout.write(f"notifications sent: {sent}")
