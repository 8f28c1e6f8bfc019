"""Settings pages for alert rules (CX admins only; anyone else gets a 404): the rule list with a
plain-language summary of each rule, the editor with a live preview, enable/disable and reorder,
and the backtest. Reads come from alerts.selectors / alerts.backtest, writes go through
alerts.services."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from accounts.permissions import admin_required
from alerts import services
from alerts.backtest import backtest
from alerts.forms import AlertRuleForm, BacktestForm
from alerts.models import AlertRule
from alerts.selectors import rule_list as rule_queryset
from alerts.summary import rule_summary
from alerts.validation import effective_scale


def _rules_with_counts():
    since = timezone.now() - timedelta(days=30)
    return rule_queryset().annotate(recent_alerts=Count("alerts", filter=Q(alerts__created_at__gte=since)))


def _row_context(rule: AlertRule) -> dict:
    return {"rule": rule, "summary": rule_summary(rule)}


@admin_required
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(_rules_with_counts())
    rows = [_row_context(rule) for rule in rules]
    for index, row in enumerate(rows):
        row["first"], row["last"] = index == 0, index == len(rows) - 1
    return render(request, "alerts/rule_list.html", {"rows": rows})


@admin_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    rule = services.rule_set_active(rule_id=rule.pk, active=not rule.active)
    if request.htmx:
        rule = _rules_with_counts().get(pk=rule.pk)
        return render(request, "alerts/_rule_row.html", {"row": _row_context(rule), "show_move": False})
    messages.success(request, (_("“%(rule)s” is on.") if rule.active else _("“%(rule)s” is off.")) % {"rule": rule.name})
    return redirect("alerts:rule_list")


@admin_required
@require_POST
def rule_move(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    if direction not in ("up", "down"):
        raise Http404("No such direction.")
    get_object_or_404(AlertRule, pk=pk)
    services.rule_move(rule_id=pk, direction=direction)
    return redirect(reverse("alerts:rule_list") + f"#rule-{pk}")


@admin_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    try:
        services.rule_delete(rule_id=rule.pk)
    except services.RuleInUse as exc:
        messages.error(request, str(exc))
        return redirect("alerts:rule_edit", pk=rule.pk)
    messages.success(request, _("Deleted “%(rule)s”.") % {"rule": rule.name})
    return redirect("alerts:rule_list")


def _scale_words(form: AlertRuleForm) -> str:
    data = form.data if form.is_bound else None

    def value(name):
        raw = data.get(name) if data is not None else form.initial.get(name, getattr(form.instance, name, None))
        return raw if raw not in ("", None) else None

    metric = value("metric") or "nps"
    scale = effective_scale(metric, value("scale_min"), value("scale_max"))
    if scale is None:
        return "Give the question's scale." if metric == "custom" else ""
    names = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "custom": f"“{value('metric_key') or 'question'}”"}
    text = f"{names.get(metric, metric)} is answered on {scale[0]}–{scale[1]}"
    if metric == "ces":
        easy = str(value("ces_high_is_easy")).lower() in ("on", "true", "1") if data is not None \
            else bool(value("ces_high_is_easy") if value("ces_high_is_easy") is not None else True)
        text += f", {scale[1]} = {'easiest' if easy else 'most effort'}"
    return text + "; the threshold is on this scale."


def _draft_summary(form: AlertRuleForm) -> str:
    draft = form.draft()
    return rule_summary(
        draft, survey_names=[s.name for s in form.cleaned_data.get("surveys") or []],
        notify_user_names=[u.display_name for u in form.cleaned_data.get("notify_users") or []],
    )


def _editor(request: HttpRequest, rule: AlertRule | None) -> HttpResponse:
    form = AlertRuleForm(request.POST or None, instance=rule)
    days_form = BacktestForm(request.POST or None, prefix="bt")
    context = {"rule": rule, "form": form, "days_form": days_form}
    if request.method == "POST":
        wants_backtest = "_backtest" in request.POST
        if form.is_valid():
            if wants_backtest:
                days = days_form.cleaned_data["days"] if days_form.is_valid() else 30
                draft = form.draft()
                surveys = list(form.cleaned_data.get("surveys") or [])
                context["result"] = backtest(draft, days=days, survey_ids=[s.pk for s in surveys],
                                             survey_names={s.pk: s.name for s in surveys},
                                             segments=list(form.cleaned_data.get("segments") or []))
                context["summary"] = _draft_summary(form)
            else:
                data = form.rule_data()
                if data.get("order") is None:
                    data.pop("order")
                m2m = form.m2m_data()
                try:
                    if rule is None:
                        saved = services.rule_create(data=data, **m2m)
                    else:
                        saved = services.rule_update(rule=rule, data=data, **m2m)
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        for error in errors:
                            form.add_error(field if field in form.fields else None, error)
                else:
                    messages.success(request, _("Saved “%(rule)s”: %(summary)s") % {"rule": saved.name, "summary": rule_summary(saved)})
                    return redirect(reverse("alerts:rule_list") + f"#rule-{saved.pk}")
        status = 200 if form.is_valid() else 422
    else:
        status = 200
        if rule is not None:
            context["summary"] = rule_summary(rule)
    context["scale_words"] = _scale_words(form)
    return render(request, "alerts/rule_form.html", context, status=status)


@admin_required
def rule_create(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@admin_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_object_or_404(rule_queryset(), pk=pk))


@admin_required
@require_POST
def rule_preview(request: HttpRequest) -> HttpResponse:
    """HTMX: the draft's summary and the scale its threshold is on, as the admin edits."""
    form = AlertRuleForm(request.POST)
    context = {"form": form, "scale_words": _scale_words(form)}
    if form.is_valid():
        context["summary"] = _draft_summary(form)
    return render(request, "alerts/_rule_preview.html", context)


@admin_required
def rule_backtest(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(rule_queryset(), pk=pk)
    form = BacktestForm(request.GET or None, prefix="bt")
    days = form.cleaned_data["days"] if form.is_bound and form.is_valid() else 30
    result = backtest(rule, days=days)
    return render(request, "alerts/rule_backtest.html", {
        "rule": rule, "summary": rule_summary(rule), "days_form": form if form.is_bound else BacktestForm(prefix="bt"),
        "result": result,
    })
