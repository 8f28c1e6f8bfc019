import importlib

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User

# Each stage of the flow adds its demo data in its own module, in flow order. A module
# receives what the earlier ones returned (teams, people, sources...) and adds to it.
STAGES = ["demo.people", "demo.surveys", "demo.themes", "demo.alerts", "demo.cases", "demo.followup", "demo.customers", "demo.journeys",
          "demo.insights", "demo.outcomes", "demo.churn", "demo.plans"]


class Command(BaseCommand):
    help = "Load the demo data: logins agent/manager/admin (password DEMO_PASSWORD), teams, sources, rules, cases."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Do nothing when the demo data is already there.")

    def handle(self, *args, once, **options):
        if once and User.objects.filter(username="admin").exists():
            self.stdout.write("Demo data already loaded.")
            return
        context: dict = {"stdout": self.stdout}
        modules = []
        for name in STAGES:
            try:
                modules.append(importlib.import_module(name))
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
        # All or nothing: one transaction for every stage. Interrupted (Ctrl-C during the first
        # `make run`), nothing is kept, and the next --once finds no admin and loads it all again.
        # Tasks the stages queue are sent on commit, so an interrupted load queues nothing either.
        with transaction.atomic():
            for module in modules:
                context.update(module.seed(context=context) or {})
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Logins: agent, manager, admin."))
