"""The frontline pages: /cases/ (the inbox) and /cases/<reference>/ (the case page, its actions
and its playbooks)."""

from django.urls import path

from cases import views
from cases.views.live import live_changes
from cases.views.notifications import notifications_page, notifications_read
from cases.views import saved_views

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
    path("<str:reference>/", views.case_detail, name="detail"),
    path("<str:reference>/playbooks/", views.case_playbooks, name="playbooks"),
    path("<str:reference>/playbook-step/", views.playbook_step, name="playbook_step"),
    path("<str:reference>/<slug:action>/", views.case_action, name="action"),
]
