"""Filters every app's API shares."""

from __future__ import annotations

from datetime import UTC

import django_filters


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, compared in UTC. Python accepts any offset under 24 hours
    (`-19:35`), PostgreSQL only up to 15:59, so an offset the database would refuse is turned
    into the same instant in UTC before the query, instead of a 500."""

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)
