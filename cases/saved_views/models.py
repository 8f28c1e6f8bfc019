"""SavedView: one person's named inbox (see cases/saved_views/__init__.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedView(models.Model):
    """A named inbox of one person: the inbox view ("mine", "team"...), the filters, the sort and
    the table's columns, as the query parameters /cases/ takes. Only its owner sees or changes it; written only through
    cases.saved_views.services, which validates `params` with CaseFilterSet."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views",
                              db_index=False)  # the unique (owner, name) index serves every lookup
    name = models.CharField(max_length=80)
    # {"view": ["team"], "status": ["overdue"], "sort": ["priority"], "columns": ["case", "score", "age"]}:
    # query parameter -> values (no "columns": the inbox's default columns).
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="cases_savedview_unique_owner_name"),
        ]

    def __str__(self) -> str:
        return self.name
