"""Which SLA policy applies: the most specific active policy for a priority and customer tier.

Order: a policy naming both the priority and the tier, then the priority only, then the tier only,
then the catch-all (both blank). Ties break by name, so the choice is stable."""

from __future__ import annotations

from accounts.models import SlaPolicy


def choose_sla_policy(*, priority: str, tier: str = "", active: list[SlaPolicy] | None = None) -> SlaPolicy | None:
    """`active`: the active policies when the caller has them (cases keeps them per process);
    read from the database otherwise."""
    if active is None:
        candidates = SlaPolicy.objects.filter(active=True, priority__in=[priority, ""],
                                              customer_tier__in=[tier or "", ""])
    else:
        candidates = [p for p in active if p.active and p.priority in (priority, "")
                      and p.customer_tier in (tier or "", "")]

    def specificity(policy: SlaPolicy) -> tuple:
        return (
            -(bool(policy.priority) and bool(policy.customer_tier)),
            -bool(policy.priority),
            -bool(policy.customer_tier),
            policy.name,
        )

    ranked = sorted(candidates, key=specificity)
    return ranked[0] if ranked else None
