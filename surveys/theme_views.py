"""Theme pages for CX admins (anyone else gets a 404, as for the other settings pages): the
themes with their volume, the editor with a live preview of the recent comments a draft matches,
the decisions on discovered proposals (accept, rename, reject), retiring and reactivating, and a
button that runs discovery now. Writes go through surveys.services; discovery is a Celery task."""

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
from django.utils.translation import gettext_lazy

from accounts.permissions import admin_required
from core.queueing import enqueue
from surveys import services
from surveys.models import SurveyResponse, Theme
from surveys.text import ThemeMatcher
from surveys.theme_forms import DecisionForm, ThemeForm

VOLUME_DAYS = 30
PREVIEW_SCAN = 2000  # the draft is tried on this many of the most recent comments
PREVIEW_SHOWN = 15


def _themes_with_volume():
    since = timezone.now() - timedelta(days=VOLUME_DAYS)
    return Theme.objects.annotate(
        volume=Count("response_links", filter=Q(response_links__answered_at__gte=since))
    ).select_related("decided_by")


@admin_required
def theme_list(request: HttpRequest) -> HttpResponse:
    themes = list(_themes_with_volume().order_by("name"))
    groups = {status: [t for t in themes if t.status == status] for status in Theme.Status.values}
    groups[Theme.Status.ACTIVE].sort(key=lambda t: (-t.volume, t.name.lower()))
    return render(request, "surveys/themes.html", {
        "active": groups[Theme.Status.ACTIVE], "proposed": groups[Theme.Status.PROPOSED],
        "rejected": groups[Theme.Status.REJECTED], "retired": groups[Theme.Status.RETIRED],
        "volume_days": VOLUME_DAYS,
    })


def _preview(keywords: list[str]) -> dict:
    matcher = ThemeMatcher([(0, "draft", "draft", keywords)])
    if not len(matcher):
        return {"keywords": [], "scanned": 0, "matched": 0, "samples": []}
    recent = (SurveyResponse.objects.exclude(comment="").order_by("-answered_at", "-id")
              .values_list("comment", "answered_at")[:PREVIEW_SCAN])
    scanned, samples, matched = 0, [], 0
    for comment, answered_at in recent:
        scanned += 1
        found = matcher.match(comment)
        if found:
            matched += 1
            if len(samples) < PREVIEW_SHOWN:
                samples.append({"comment": comment, "matches": list(found[0].matches), "answered_at": answered_at})
    return {"keywords": keywords, "scanned": scanned, "matched": matched, "samples": samples}


def _editor(request: HttpRequest, theme: Theme | None) -> HttpResponse:
    form = ThemeForm(request.POST or None, theme=theme)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if theme is None:
                    saved = services.theme_create(name=data["name"], keywords=data["keywords"],
                                                  description=data["description"], by=request.user)
                else:
                    saved = services.theme_update(theme_id=theme.pk, name=data["name"], keywords=data["keywords"],
                                                  description=data["description"], by=request.user)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                note = " Recent comments are being tagged in the background." if saved.status == Theme.Status.ACTIVE \
                    else ""
                messages.success(request, _("Saved “%(name)s”.%(note)s") % {"name": saved.name, "note": note})
                return redirect(reverse("surveys:theme_list") + f"#theme-{saved.pk}")
        status = 422
    keywords = form.cleaned_data.get("keywords", []) if form.is_bound and hasattr(form, "cleaned_data") else (
        theme.keywords if theme else [])
    return render(request, "surveys/theme_form.html", {
        "theme": theme, "form": form, "preview": _preview(keywords), "preview_scan": PREVIEW_SCAN,
    }, status=status)


@admin_required
def theme_create(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@admin_required
def theme_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_object_or_404(Theme, pk=pk))


@admin_required
@require_POST
def theme_preview(request: HttpRequest) -> HttpResponse:
    """HTMX: the recent comments the draft's keywords match, highlighted, as the admin types."""
    form = ThemeForm(request.POST)
    keywords = form.fields["keywords"].clean(request.POST.get("keywords", ""))
    return render(request, "surveys/_theme_preview.html", {"preview": _preview(keywords),
                                                           "preview_scan": PREVIEW_SCAN})


DECISION_WORDS = {"accept": gettext_lazy("“%(name)s” accepted."), "reject": gettext_lazy("“%(name)s” rejected."),
                  "retire": gettext_lazy("“%(name)s” retired."), "reactivate": gettext_lazy("“%(name)s” reactivated.")}


@admin_required
@require_POST
def theme_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in DECISION_WORDS:
        raise Http404("No such decision.")
    theme = get_object_or_404(Theme, pk=pk)
    form = DecisionForm(request.POST)
    name = form.cleaned_data["name"].strip() if form.is_valid() and decision == "accept" else ""
    try:
        saved = services.theme_decide(theme_id=theme.pk, decision=decision, by=request.user, name=name or None)
    except services.ThemeTransitionError as exc:
        messages.error(request, str(exc))
        return redirect(reverse("surveys:theme_list") + f"#theme-{theme.pk}")
    except ValidationError as exc:
        messages.error(request, " ".join(m for errors in exc.message_dict.values() for m in errors))
        return redirect(reverse("surveys:theme_list") + f"#theme-{theme.pk}")
    note = " Recent comments are being tagged in the background." if saved.status == Theme.Status.ACTIVE else ""
    messages.success(request, (DECISION_WORDS[decision] % {"name": saved.name}) + note)
    return redirect(reverse("surveys:theme_list") + f"#theme-{saved.pk}")


@admin_required
@require_POST
def theme_discover(request: HttpRequest) -> HttpResponse:
    """Queue discovery now (it also runs nightly); proposals appear on the list when it is done."""
    # Nothing written here first, so no need to wait for a commit.
    if not enqueue("surveys.tasks.discover_themes_task", if_down="it also runs nightly"):
        messages.error(request, _("Discovery could not be queued (the task queue is unreachable); it also runs "
                                  "nightly, or try again in a minute."))
        return redirect("surveys:theme_list")
    messages.success(request, _("Discovery is running over recent comments that match no theme; its proposals "
                                "appear below when it finishes (reload in a minute)."))
    return redirect("surveys:theme_list")
