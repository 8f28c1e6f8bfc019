"""The account list and the account page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.panels import page_panels
from customers import selectors
from customers.models import Account

PAGE_SIZE = 50


@login_required
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").replace("\x00", "").strip()[:200]  # NUL: no database stores it
    queryset = selectors.accounts_for_user(request.user).select_related("owner", "parent")
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(external_id__icontains=q))
    queryset = queryset.order_by("name", "pk")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/account_list.html", {"page": page, "q": q})


@login_required
@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = Account.objects.select_related("owner", "parent").filter(pk=pk).first()
    # None: not the user's to see (selectors.account_page judges it from the rows it reads).
    page = selectors.account_page(request.user, account) if account is not None else None
    if page is None:
        raise Http404(_("No such account."))
    return render(request, "customers/account_detail.html",
                  {"page": page, "account": account, "panels": page_panels("account", request, account)})
