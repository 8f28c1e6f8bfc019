"""The import pages (CX admins): past jobs, upload with a preview, a job's live progress and its
row errors, the failed rows as CSV. Every page works without JavaScript: the progress reloads
itself (a refresh in <noscript>) where HTMX would poll it."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import admin_required
from imports.forms import UploadForm
from imports.models import ImportJob
from imports.reading import FileRefused, check_size
from imports.registry import importer_for, importers
from imports.selectors import failed_rows_csv, job_preview
from imports.services import JobStateError, import_discard, import_prepare, import_requeue, import_start, stale_before

PAGE_SIZE = 50
ERRORS_SHOWN = 100


def _job(pk: int) -> ImportJob:
    job = ImportJob.objects.select_related("created_by").filter(pk=pk).first()
    if job is None:
        raise Http404(_("No such import."))
    return job


@admin_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "imports/job_list.html", {"page": page})


@admin_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method != "POST":
        form = UploadForm(initial={"kind": request.GET.get("kind")})
    else:
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            file = form.cleaned_data["file"]
            try:
                check_size(file.size)
                job = import_prepare(kind=form.cleaned_data["kind"], file_name=file.name, content=file.read(),
                                     by=request.user, via="page")
            except FileRefused as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("imports:job", pk=job.pk)
        status = 400
    return render(request, "imports/upload.html", {"form": form, "importers": importers()}, status=status)


def _progress_context(job: ImportJob) -> dict:
    stalled = job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING) and (
        (job.heartbeat_at or job.created_at) < stale_before())
    errors = list(job.errors.order_by("row", "id")[:ERRORS_SHOWN]) if job.finished and job.rows_failed else []
    return {"job": job, "stalled": stalled, "errors": errors, "errors_more": job.rows_failed > len(errors)}


@admin_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(pk)
    context = _progress_context(job)
    context["importer"] = importer_for(job.kind)
    if job.status == ImportJob.Status.PREVIEW and context["importer"] is not None:
        context["preview"] = job_preview(ImportJob.objects.select_related("upload").get(pk=job.pk))
    return render(request, "imports/job_detail.html", context)


@admin_required
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The part of the job page that moves (what HTMX polls every second while the job runs)."""
    return render(request, "imports/_progress.html", _progress_context(_job(pk)))


def _job_action(request: HttpRequest, pk: int, action, *, done: str = "", then: str | None = None) -> HttpResponse:
    """Run one of the job's state changes for the admin; a refused change (the job is not in a
    state that allows it) is a message on the job page, not an error page. After the change the admin
    lands on the job page, or on `then` (a URL name) when the job is gone from view."""
    job = _job(pk)
    try:
        action(job_id=job.pk, by=request.user)
    except JobStateError as exc:
        messages.error(request, str(exc))
        return redirect("imports:job", pk=job.pk)
    if done:
        messages.success(request, done)
    return redirect(then) if then else redirect("imports:job", pk=job.pk)


@admin_required
@require_POST
def job_start(request: HttpRequest, pk: int) -> HttpResponse:
    return _job_action(request, pk, import_start)


@admin_required
@require_POST
def job_requeue(request: HttpRequest, pk: int) -> HttpResponse:
    return _job_action(request, pk, import_requeue, done=_("Queued again: the rows done already are skipped."))


@admin_required
@require_POST
def job_discard(request: HttpRequest, pk: int) -> HttpResponse:
    return _job_action(request, pk, import_discard, done=_("Discarded: nothing was imported."), then="imports:upload")


@admin_required
@require_GET
def failed_rows(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(pk)
    response = HttpResponse(failed_rows_csv(job), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(job.created_at).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{job.kind}-import-{job.pk}-{stamp}-failed-rows.csv"'
    return response
