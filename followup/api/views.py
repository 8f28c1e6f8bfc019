"""API: /api/v1/recognitions/ (read-only): praise that named a member of staff or a location,
newest first, scoped to the teams the user may see (admins: all)."""

from __future__ import annotations

from rest_framework import viewsets

from followup.api.serializers import RecognitionSerializer
from followup.filtersets import RecognitionFilterSet
from followup.selectors import recognition_list_for_user


class RecognitionViewSet(viewsets.ReadOnlyModelViewSet):
    """Recognitions: the promoter's words (`quote`), who or where they named (`praised_user`,
    `location`), the team, the score, and whether the managers were e-mailed. Filters: `team`,
    `person` (user id), `location`, `period` (7, 30, 90 or 365 days), `created_after`,
    `created_before`."""

    serializer_class = RecognitionSerializer
    filterset_class = RecognitionFilterSet

    def get_queryset(self):
        return recognition_list_for_user(self.request.user)
