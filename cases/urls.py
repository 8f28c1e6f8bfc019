"""The frontline pages: /cases/ (the inbox) and /cases/<reference>/ (the case page, its actions
and its playbooks)."""

from django.urls import path, register_converter

from cases import views
from cases.views import saved_views
from cases.views.live import live_changes
from cases.views.notifications import notifications_page, notifications_read


class ReferenceConverter:
    """A case reference in a path: anything but a slash or a control character (a NUL cannot be
    sent to PostgreSQL), so such a path is a 404 like any other unknown reference."""

    regex = r"[^/\x00-\x1f\x7f]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "reference")

app_name = "cases"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("filters/", views.inbox_filters, name="inbox_filters"),
    path("bulk/", views.bulk, name="bulk"),
    path("bulk/fields/", views.bulk_fields, name="bulk_fields"),
    path("live/", live_changes, name="live"),
    path("notifications/", notifications_page, name="notifications"),
    path("notifications/read/", notifications_read, name="notifications_read"),
    path("saved-views/", saved_views.saved_view_create, name="saved_view_create"),
    path("saved-views/<int:pk>/rename/", saved_views.saved_view_rename, name="saved_view_rename"),
    path("saved-views/<int:pk>/delete/", saved_views.saved_view_delete, name="saved_view_delete"),
    path("<reference:reference>/", views.case_detail, name="detail"),
    path("<reference:reference>/playbooks/", views.case_playbooks, name="playbooks"),
    path("<reference:reference>/playbook-step/", views.playbook_step, name="playbook_step"),
    path("<reference:reference>/<slug:action>/", views.case_action, name="action"),
]
