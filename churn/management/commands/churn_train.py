"""Train the churn model now and score every customer with it (what the nightly task does)."""

from django.core.management.base import BaseCommand

from churn.services import churn_retrain


class Command(BaseCommand):
    help = "Train the churn model on the outcomes recorded so far and score every customer and account."

    def handle(self, *args, **options):
        result = churn_retrain()
        status = result.status
        if result.model_id is None:
            self.stdout.write(
                f"Not trained: {status.churns} churns in the training period (needs {status.needed}), "
                f"{status.held_out_churns} in the held-out period (needs {status.held_out_needed})."
            )
            return
        auc = "n/a" if result.auc is None else f"{result.auc:.3f}"
        self.stdout.write(
            f"Model {result.model_id}: held-out AUC {auc}, Brier {result.brier:.4f}; {result.scored} customers scored."
        )
