"""What Django's debug pages and error reports may show of the settings."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class SafeSettingsFilter(SafeExceptionReporterFilter):
    """Django's filter (settings.DEFAULT_EXCEPTION_REPORTER_FILTER), also hiding connection URLs
    and locations: DATABASE_URL, REDIS_URL, CELERY_BROKER_URL and the cache's LOCATION carry
    host names and passwords."""

    hidden_settings = re.compile(
        r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|DSN|LOCATION|BROKER|DATABASE", flags=re.I
    )
