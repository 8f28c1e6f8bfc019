"""A rule in one plain sentence, for the rule list, the editor's preview and the API:

    "When NPS is 6 or less on Store visit for Tier I customers, open a High case for North,
     first contact due in 4 business hours."
"""

from __future__ import annotations

from collections.abc import Iterable

from alerts.validation import METRIC_LABELS, effective_scale, fmt_number


def _either(values: Iterable[str], joiner: str = "or") -> str:
    values = [str(v) for v in values if str(v).strip()]
    if len(values) <= 1:
        return "".join(values)
    return f"{', '.join(values[:-1])} {joiner} {values[-1]}"


def _hours(value) -> str:
    text = fmt_number(value)
    return f"{text} business hour{'' if text == '1' else 's'}"


def metric_clause(rule) -> str:
    """"NPS is 6 or less", "CSAT is 2 or less (1–5 scale)", "CES is 2 or less (1–7, 7 = easiest: high effort)"."""
    metric = rule.metric
    name = METRIC_LABELS.get(metric, metric) if metric != "custom" else f"“{rule.metric_key or '?'}”"
    if rule.operator == "lte":
        bound = f"{fmt_number(rule.threshold)} or less"
    elif rule.operator == "gte":
        bound = f"{fmt_number(rule.threshold)} or more"
    else:
        bound = f"between {fmt_number(rule.threshold)} and {fmt_number(rule.threshold_high)}"
    clause = f"{name} is {bound}"
    scale = effective_scale(metric, rule.scale_min, rule.scale_max)
    if metric == "ces" and scale:
        easy = rule.ces_high_is_easy
        effort_high = (easy and rule.operator == "lte") or (not easy and rule.operator == "gte")
        effort_low = (easy and rule.operator == "gte") or (not easy and rule.operator == "lte")
        note = ": high effort" if effort_high else ": low effort" if effort_low else ""
        clause += f" ({scale[0]}–{scale[1]}, {scale[1]} = {'easiest' if easy else 'most effort'}{note})"
    elif metric != "nps" and scale:
        clause += f" ({scale[0]}–{scale[1]} scale)"
    return clause


def rule_summary(rule, *, survey_names: Iterable[str] | None = None, notify_user_names: Iterable[str] | None = None,
                 sla_policy=None, with_sla: bool = True, theme_names: Iterable[str] | None = None) -> str:
    """The sentence for a rule (saved or draft). Saved rules read their surveys, themes and people
    from the database (prefetch them for a list); drafts pass `survey_names` and `notify_user_names`
    (and `theme_names`, or carry `draft_themes` as the editor's drafts do).
    The first-contact figure comes from the rule's SLA policy, else the policy that would apply
    for its priority and (single) customer tier (accounts.sla.choose_sla_policy)."""
    if survey_names is None:
        survey_names = [s.name for s in rule.surveys.all()] if rule.pk else []
    parts = [f"When {metric_clause(rule)}"]
    if survey_names:
        parts.append(f"in {_either(survey_names)}")
    if rule.touchpoints:
        parts.append(f"on {_either(rule.touchpoints)}")
    if rule.channels:
        parts.append(f"via {_either(rule.channels)}")
    if rule.locations:
        parts.append(f"at {_either(rule.locations)}")
    if rule.customer_tiers:
        parts.append(f"for {_either(rule.customer_tiers)} customers")
    if rule.customer_segments:
        parts.append(f"in the {_either(rule.customer_segments)} segment{'s' if len(rule.customer_segments) > 1 else ''}")
    keywords = [k for k in rule.keywords or [] if k.strip()]
    if theme_names is None:
        from alerts.rules import rule_themes

        theme_names = [t.name for t in rule_themes(rule)]
    theme_names = sorted(theme_names)
    if keywords:
        joiner = "and" if rule.keyword_mode == "all" else "or"
        parts.append(f"with a comment mentioning {_either([f'“{k}”' for k in keywords], joiner)}")
    elif rule.comment_presence == "with" and not theme_names:
        parts.append("with a comment")
    if theme_names:
        parts.append(f"{'and' if keywords else 'with'} a comment about {_either([f'“{n}”' for n in theme_names])}")
    if rule.comment_presence == "without":
        parts.append("without a comment")
    if rule.sentiment:
        parts.append(f"{'and' if keywords or theme_names else 'with'} a {rule.sentiment} comment")
    sentence = " ".join(parts) + ", " + action_clause(
        rule, notify_user_names=notify_user_names, sla_policy=sla_policy, with_sla=with_sla
    )
    if rule.stop_processing:
        sentence += "; later rules are skipped"
    return sentence + "."


def action_clause(rule, *, notify_user_names=None, sla_policy=None, with_sla: bool = True) -> str:
    action = rule.action
    if action == "open_case":
        priority = dict(_priority_choices()).get(rule.case_priority, rule.case_priority)
        team = rule.case_team.name if rule.case_team_id else None
        text = f"open {'an' if priority[:1].lower() in 'aeiou' else 'a'} {priority} case for " + (
            team or "the team routing picks")
        policy = sla_policy or rule.sla_policy if rule.sla_policy_id or sla_policy else None
        if policy is None and with_sla:
            from accounts.sla import choose_sla_policy

            tiers = rule.customer_tiers or []
            policy = choose_sla_policy(priority=rule.case_priority, tier=tiers[0] if len(tiers) == 1 else "")
        if policy is not None:
            text += f", first contact due in {_hours(policy.first_contact_hours)}"
        return text
    if action == "notify":
        if notify_user_names is None:
            notify_user_names = [u.display_name for u in rule.notify_users.all()] if rule.pk else []
        names = list(notify_user_names)
        if rule.notify_team_id:
            names.append(f"the {rule.notify_team.name} team")
        return f"e-mail {_either(names, 'and') or 'nobody yet'}"
    if action == "praise":
        team = rule.notify_team or rule.case_team if (rule.notify_team_id or rule.case_team_id) else None
        return ("send the praise to the staff member the response names, otherwise to "
                + (team.name if team else "the response's team") + ", and record it for recognition")
    return action


def _priority_choices():
    from accounts.models import Priority

    return Priority.choices
