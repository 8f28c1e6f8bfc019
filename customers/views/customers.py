"""The customer list (search) and the customer page, with its consent form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.panels import page_panels
from customers import selectors, services
from customers.filtersets import search_q
from customers.forms import ConsentForm, MergeForm
from surveys.models import Customer

PAGE_SIZE = 50


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").replace("\x00", "").strip()[:200]  # NUL: no database stores it
    queryset = selectors.customers_for_user(request.user)
    if q:
        queryset = queryset.filter(search_q(q)).distinct()
    page = Paginator(queryset.order_by("name", "email", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/customer_list.html", {"page": page, "q": q})


def visible_customer(request: HttpRequest, pk: int) -> Customer:
    customer = Customer.objects.select_related("merged_into").filter(pk=pk).first()
    if customer is None or not selectors.customer_visible(request.user, customer):
        raise Http404(_("No such customer."))
    return customer


def _render_page(request: HttpRequest, customer: Customer, *, consent_form: ConsentForm | None = None,
                 status: int = 200) -> HttpResponse:
    data = selectors.customer_page(request.user, customer)
    return render(request, "customers/customer_detail.html", {
        "page": data, "customer": customer, "consent_form": consent_form or ConsentForm(),
        "merge_form": MergeForm(initial={"target": customer.pk}) if request.user.is_admin_role else None,
        "panels": page_panels("customer", request, customer),
    }, status=status)


@login_required
@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = visible_customer(request, pk)
    if customer.merged_into_id is not None and selectors.customer_visible(request.user, customer.merged_into):
        messages.info(request, _("%(merged)s was merged into %(target)s.") % {
            "merged": customer, "target": customer.merged_into})
        return redirect("customers:detail", pk=customer.merged_into_id)
    return _render_page(request, customer)


@login_required
@require_POST
def consent_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = visible_customer(request, pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            changed = services.customer_consent_set(
                customer_id=customer.pk, channel=form.cleaned_data["channel"], consent=form.cleaned_data["consent"],
                by=request.user, via=form.cleaned_data["via"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Contact consent saved.") if changed else _("Nothing changed."))
            return redirect("customers:detail", pk=customer.pk)
    customer.refresh_from_db()
    return _render_page(request, customer, consent_form=form, status=400)
