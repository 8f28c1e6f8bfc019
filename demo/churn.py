"""The churn models trained on the demo's history and every demo customer (and account) scored, last
(after the outcomes they learn from), as the nightly task would. With too few churns in the periods it
learns and is checked on, nothing is scored and the customer pages say why."""

from __future__ import annotations

from django.utils import timezone


def seed(context: dict) -> dict:
    from churn.services import churn_retrain

    result = churn_retrain(now=timezone.now())
    out = context.get("stdout")
    if out is not None:
        status = result.status
        if result.model_id is None:
            out.write(
                f"No churn model: {status.churns} churns in its training period, {status.held_out_churns} in "
                f"its held-out period (needs {status.needed} and {status.held_out_needed})."
            )
        else:
            auc = "n/a" if result.auc is None else f"{result.auc:.2f}"
            out.write(f"Churn model trained (held-out AUC {auc}); {result.scored} customers scored.")
        accounts = result.accounts
        if accounts is not None and accounts.model_id is None:
            out.write(
                f"No accounts' churn model: {accounts.status.churns} account churns in its training period, "
                f"{accounts.status.held_out_churns} in its held-out period."
            )
        elif accounts is not None:
            out.write(f"Accounts' churn model trained; {accounts.scored} accounts scored.")
    return {}
