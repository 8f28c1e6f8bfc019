"""The inbox's two panels' fields, filters and bulk actions (jinja2/cases/inbox_panels.html): the
page prints them when filters are in use or a bulk action was sent, and cases:inbox_filters and
cases:bulk_fields answer them alone when a panel is opened. In Jinja2 because through Django's
engine the filter panel's fields were about a tenth of a filtered inbox's CPU (bench/page_cpu.py);
each field is cases.templatetags.case_display.field_block's markup, as the case page's."""

from __future__ import annotations

from django.template import engines
from django.utils.safestring import SafeString, mark_safe

from cases.templatetags.case_display import field_block


def _macro(name: str):
    return getattr(engines["jinja2"].env.get_template("cases/inbox_panels.html").module, name)


def filter_fields_html(filterset, page_sizes, size) -> SafeString:
    return mark_safe(_macro("filter_fields")(filterset, page_sizes, size, field_block))  # escaped by Jinja2


def bulk_fields_html(bulk_form) -> SafeString:
    return mark_safe(_macro("bulk_fields")(bulk_form, field_block))  # escaped by Jinja2
