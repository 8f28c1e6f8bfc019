"""Train the churn models now and score every customer and account with them (what the nightly task does)."""

from django.core.management.base import BaseCommand

from churn.services import churn_retrain


def _line(kind: str, result) -> str:
    status = result.status
    if result.model_id is None:
        return (
            f"{kind}: not trained: {status.churns} churns in the training period (needs {status.needed}), "
            f"{status.held_out_churns} in the held-out period (needs {status.held_out_needed})."
        )
    auc = "n/a" if result.auc is None else f"{result.auc:.3f}"
    return f"{kind}: model {result.model_id}: held-out AUC {auc}, Brier {result.brier:.4f}; {result.scored} scored."


class Command(BaseCommand):
    help = "Train the churn models on the outcomes recorded so far and score every customer and account."

    def handle(self, *args, **options):
        result = churn_retrain()
        self.stdout.write(_line("Customers", result))
        self.stdout.write(_line("Accounts", result.accounts))
