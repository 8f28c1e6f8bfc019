"""RecognitionFilterSet: the filters of the recognition feed (/recognition/) and of
/api/v1/recognitions/: team, person, location, period (last N days) or a date range."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Team, User
from accounts.selectors import visible_team_ids
from core.filters import UtcDateTimeFilter
from followup.models import Recognition

PERIODS = [("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days")), ("365", _("Last 12 months"))]


def _teams(request):
    if request is None:
        return Team.objects.all()
    return Team.objects.visible_to(request.user)


def _people(request):
    """People who could appear in the user's feed: members of the teams they see."""
    users = User.objects.order_by("first_name", "last_name", "username")
    if request is None:
        return users
    ids = visible_team_ids(request.user)
    return users if ids is None else users.filter(memberships__team_id__in=ids).distinct()


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display_name


class PersonFilter(django_filters.ModelChoiceFilter):
    field_class = PersonChoiceField


class RecognitionFilterSet(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(queryset=_teams, empty_label=_("All teams"))
    person = PersonFilter(field_name="praised_user", queryset=_people, label=_("Person"), empty_label=_("Anyone"))
    location = django_filters.CharFilter(field_name="location", lookup_expr="iexact")
    period = django_filters.ChoiceFilter(choices=PERIODS, method="filter_period", empty_label=_("Any time"))
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Recognition
        fields = ["team", "person", "location", "period", "created_after", "created_before"]

    def filter_period(self, queryset, name, value):
        return queryset.filter(created_at__gte=timezone.now() - dt.timedelta(days=int(value)))
