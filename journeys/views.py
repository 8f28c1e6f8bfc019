"""Settings pages for journeys (CX admins): journeys, their ordered stages, and what maps to each
stage, with the touchpoints no stage names yet and how many responses they carry."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import admin_required
from journeys import selectors, services
from journeys.forms import JourneyForm, MappingForm, NewJourneyForm, StageForm
from journeys.models import Journey, Stage, StageMapping


def apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field_name, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field_name if field_name in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


@admin_required
def journey_list(request: HttpRequest) -> HttpResponse:
    form = NewJourneyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                journey = services.journey_create(
                    name=data["name"], description=data["description"],
                    relationship_survey=data["relationship_survey"],
                    stage_names=[_(n) for n in services.DEFAULT_STAGES] if data["usual_stages"] else [],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Added the journey “%(name)s”.") % {"name": journey.name})
                return redirect("journeys:detail", journey.pk)
        status = 422
    journeys = Journey.objects.order_by("name").annotate(
        stage_count=Count("stages", distinct=True), mapping_count=Count("mappings", distinct=True))
    return render(request, "journeys/journey_list.html", {"journeys": journeys, "form": form}, status=status)


@admin_required
def journey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    journey = get_object_or_404(Journey.objects.select_related("relationship_survey"), pk=pk)
    journey_form = JourneyForm(initial={"name": journey.name, "description": journey.description,
                                        "relationship_survey": journey.relationship_survey})
    stage_form = StageForm(prefix="stage")
    mapping_form = MappingForm(journey=journey, prefix="map")
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "journey":
            journey_form = JourneyForm(request.POST)
            if journey_form.is_valid():
                try:
                    services.journey_update(journey=journey, **journey_form.cleaned_data)
                except ValidationError as exc:
                    apply_errors(journey_form, exc)
                else:
                    messages.success(request, _("Saved the journey."))
                    return redirect("journeys:detail", journey.pk)
        elif action == "stage":
            stage_form = StageForm(request.POST, prefix="stage")
            if stage_form.is_valid():
                try:
                    stage = services.stage_create(journey=journey, **stage_form.cleaned_data)
                except ValidationError as exc:
                    apply_errors(stage_form, exc)
                else:
                    messages.success(request, _("Added the stage “%(name)s”.") % {"name": stage.name})
                    return redirect("journeys:detail", journey.pk)
        elif action == "mapping":
            mapping_form = MappingForm(request.POST, journey=journey, prefix="map")
            if mapping_form.is_valid():
                data = mapping_form.cleaned_data
                try:
                    mapping = services.mapping_set(stage=data["stage"], touchpoint=data["touchpoint"],
                                                   survey=data["survey"], source=data["source"])
                except ValidationError as exc:
                    apply_errors(mapping_form, exc)
                else:
                    messages.success(request, _("%(target)s now belongs to “%(stage)s”.")
                                     % {"target": mapping.target_label, "stage": mapping.stage.name})
                    return redirect("journeys:detail", journey.pk)
        status = 422
    stages = list(journey.stages.order_by("position", "pk"))
    mappings = StageMapping.objects.filter(journey=journey).select_related("survey", "source")
    by_stage: dict[int, list] = {s.pk: [] for s in stages}
    for mapping in mappings:
        by_stage.setdefault(mapping.stage_id, []).append(mapping)
    smap = selectors.stage_map(journey)
    return render(request, "journeys/journey_detail.html", {
        "journey": journey,
        "journey_form": journey_form,
        "stage_form": stage_form,
        "mapping_form": mapping_form,
        "stages": [(stage, by_stage.get(stage.pk, [])) for stage in stages],
        "unmapped": selectors.unmapped_touchpoints(smap),
        "unmapped_days": selectors.UNMAPPED_WINDOW_DAYS,
    }, status=status)


@admin_required
@require_POST
def journey_delete(request: HttpRequest, pk: int) -> HttpResponse:
    journey = get_object_or_404(Journey, pk=pk)
    services.journey_delete(journey=journey)
    messages.success(request, _("Deleted the journey “%(name)s”.") % {"name": journey.name})
    return redirect("journeys:list")


@admin_required
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("journey"), pk=pk)
    form = StageForm(request.POST or None, initial={"name": stage.name, "description": stage.description})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.stage_update(stage=stage, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Saved the stage “%(name)s”.") % {"name": stage.name})
                return redirect("journeys:detail", stage.journey_id)
        status = 422
    return render(request, "journeys/stage_form.html", {"stage": stage, "form": form}, status=status)


@admin_required
@require_POST
def stage_move(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    if direction not in ("up", "down"):
        raise Http404("Move a stage up or down.")
    stage = get_object_or_404(Stage.objects.select_related("journey"), pk=pk)
    services.stage_move(stage=stage, offset=-1 if direction == "up" else 1)
    return redirect("journeys:detail", stage.journey_id)


@admin_required
@require_POST
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage, pk=pk)
    services.stage_delete(stage=stage)
    messages.success(request, _("Deleted the stage “%(name)s” and its mappings.") % {"name": stage.name})
    return redirect("journeys:detail", stage.journey_id)


@admin_required
@require_POST
def mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mapping = get_object_or_404(StageMapping.objects.select_related("survey", "source"), pk=pk)
    label = mapping.target_label
    services.mapping_delete(mapping=mapping)
    messages.success(request, _("%(target)s no longer belongs to a stage.") % {"target": label})
    return redirect("journeys:detail", mapping.journey_id)
