"""A rule in one plain sentence, for the rule list, the editor's preview and the API:

    "When NPS is 6 or less on Store visit for Tier I customers, open a High case for North,
     first contact due in 4 business hours."
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.validation import METRIC_LABELS, effective_scale, fmt_number


def _either(values: Iterable[str], joiner: str = "or") -> str:
    values = [str(v) for v in values if str(v).strip()]
    if len(values) <= 1:
        return "".join(values)
    words = {"or": _("%(items)s or %(last)s"), "and": _("%(items)s and %(last)s")}[joiner]
    return words % {"items": ", ".join(values[:-1]), "last": values[-1]}


def _hours(value) -> str:
    text = fmt_number(value)
    return ngettext("%(hours)s business hour", "%(hours)s business hours", 1 if text == "1" else 2) % {"hours": text}


def metric_clause(rule) -> str:
    """"NPS is 6 or less", "CSAT is 2 or less (1–5 scale)", "CES is 2 or less (1–7, 7 = easiest: high effort)"."""
    metric = rule.metric
    name = METRIC_LABELS.get(metric, metric) if metric != "custom" else f"“{rule.metric_key or '?'}”"
    if rule.operator == "lte":
        clause = _("%(metric)s is %(value)s or less") % {"metric": name, "value": fmt_number(rule.threshold)}
    elif rule.operator == "gte":
        clause = _("%(metric)s is %(value)s or more") % {"metric": name, "value": fmt_number(rule.threshold)}
    else:
        clause = _("%(metric)s is between %(low)s and %(high)s") % {
            "metric": name, "low": fmt_number(rule.threshold), "high": fmt_number(rule.threshold_high)}
    scale = effective_scale(metric, rule.scale_min, rule.scale_max)
    if metric == "ces" and scale:
        easy = rule.ces_high_is_easy
        effort_high = (easy and rule.operator == "lte") or (not easy and rule.operator == "gte")
        effort_low = (easy and rule.operator == "gte") or (not easy and rule.operator == "lte")
        note = _(": high effort") if effort_high else _(": low effort") if effort_low else ""
        values = {"low": scale[0], "high": scale[1], "note": note}
        clause += " " + ((_("(%(low)s–%(high)s, %(high)s = easiest%(note)s)") if easy else
                          _("(%(low)s–%(high)s, %(high)s = most effort%(note)s)")) % values)
    elif metric != "nps" and scale:
        clause += " " + _("(%(low)s–%(high)s scale)") % {"low": scale[0], "high": scale[1]}
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
    parts = [_("When %(condition)s") % {"condition": metric_clause(rule)}]
    if survey_names:
        parts.append(_("in %(surveys)s") % {"surveys": _either(survey_names)})
    if rule.touchpoints:
        parts.append(_("on %(touchpoints)s") % {"touchpoints": _either(rule.touchpoints)})
    if rule.channels:
        parts.append(_("via %(channels)s") % {"channels": _either(rule.channels)})
    if rule.locations:
        parts.append(_("at %(locations)s") % {"locations": _either(rule.locations)})
    if rule.customer_tiers:
        parts.append(_("for %(tiers)s customers") % {"tiers": _either(rule.customer_tiers)})
    if rule.customer_segments:
        parts.append(ngettext("in the %(segments)s segment", "in the %(segments)s segments",
                              len(rule.customer_segments)) % {"segments": _either(rule.customer_segments)})
    from alerts.rules import rule_segments

    named = sorted(segment.name for segment in rule_segments(rule))
    if named:
        parts.append(_("for customers in %(segments)s") % {"segments": _either([f"“{n}”" for n in named])})
    keywords = [k for k in rule.keywords or [] if k.strip()]
    if theme_names is None:
        from alerts.rules import rule_themes

        theme_names = [t.name for t in rule_themes(rule)]
    theme_names = sorted(theme_names)
    if keywords:
        joiner = "and" if rule.keyword_mode == "all" else "or"
        parts.append(_("with a comment mentioning %(keywords)s") % {
            "keywords": _either([f"“{k}”" for k in keywords], joiner)})
    elif rule.comment_presence == "with" and not theme_names:
        parts.append(_("with a comment"))
    if theme_names:
        themes = _either([f"“{n}”" for n in theme_names])
        parts.append((_("and a comment about %(themes)s") if keywords else _("with a comment about %(themes)s"))
                     % {"themes": themes})
    if rule.comment_presence == "without":
        parts.append(_("without a comment"))
    if rule.sentiment:
        joined = bool(keywords or theme_names)
        parts.append({
            ("negative", False): _("with a negative comment"), ("negative", True): _("and a negative comment"),
            ("positive", False): _("with a positive comment"), ("positive", True): _("and a positive comment"),
        }.get((rule.sentiment, joined), f"{'and' if joined else 'with'} a {rule.sentiment} comment"))
    sentence = " ".join(parts) + ", " + action_clause(
        rule, notify_user_names=notify_user_names, sla_policy=sla_policy, with_sla=with_sla
    )
    if rule.stop_processing:
        sentence += _("; later rules are skipped")
    return sentence + "."


def action_clause(rule, *, notify_user_names=None, sla_policy=None, with_sla: bool = True) -> str:
    action = rule.action
    if action == "open_case":
        priority = dict(_priority_choices()).get(rule.case_priority, rule.case_priority)
        team = rule.case_team.name if rule.case_team_id else None
        values = {"priority": priority, "team": team or _("the team routing picks")}
        # English needs "an urgent": the article is in the sentence, so each language writes its own.
        text = (_("open an %(priority)s case for %(team)s") if str(priority)[:1].lower() in "aeiou"
                else _("open a %(priority)s case for %(team)s")) % values
        policy = sla_policy or rule.sla_policy if rule.sla_policy_id or sla_policy else None
        if policy is None and with_sla:
            from accounts.sla import choose_sla_policy

            tiers = rule.customer_tiers or []
            policy = choose_sla_policy(priority=rule.case_priority, tier=tiers[0] if len(tiers) == 1 else "")
        if policy is not None:
            text += _(", first contact due in %(hours)s") % {"hours": _hours(policy.first_contact_hours)}
        return text
    if action == "notify":
        if notify_user_names is None:
            notify_user_names = [u.display_name for u in rule.notify_users.all()] if rule.pk else []
        names = list(notify_user_names)
        if rule.notify_team_id:
            names.append(_("the %(team)s team") % {"team": rule.notify_team.name})
        return _("e-mail %(names)s") % {"names": _either(names, "and") or _("nobody yet")}
    if action == "praise":
        team = rule.notify_team or rule.case_team if (rule.notify_team_id or rule.case_team_id) else None
        return _("send the praise to the staff member the response names, otherwise to %(team)s, and record it "
                 "for recognition") % {"team": team.name if team else _("the response's team")}
    return action


def _priority_choices():
    from accounts.models import Priority

    return Priority.choices
