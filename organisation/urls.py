from django.urls import path

from organisation.views import rules, teams

app_name = "organisation"
urlpatterns = [
    path("", rules.index, name="index"),
    path("teams/", teams.team_list, name="team_list"),
    path("teams/new/", teams.team_create, name="team_create"),
    path("teams/<int:pk>/", teams.team_edit, name="team_edit"),
    path("teams/<int:pk>/delete/", teams.team_delete, name="team_delete"),
    path("teams/<int:pk>/members/", teams.member_add, name="member_add"),
    path("teams/<int:pk>/members/<int:membership_pk>/remove/", teams.member_remove, name="member_remove"),
    path("teams/<int:pk>/closed-days/", teams.closed_day_add, name="closed_day_add"),
    path("teams/<int:pk>/closed-days/<int:day_pk>/delete/", teams.closed_day_delete, name="closed_day_delete"),
    path("sla/", rules.sla_list, name="sla_list"),
    path("sla/new/", rules.sla_edit, name="sla_create"),
    path("sla/<int:pk>/", rules.sla_edit, name="sla_edit"),
    path("routing/", rules.routing_list, name="routing_list"),
    path("routing/test/", rules.routing_test, name="routing_test"),
    path("routing/new/", rules.routing_edit, name="routing_create"),
    path("routing/<int:pk>/", rules.routing_edit, name="routing_edit"),
    path("routing/<int:pk>/delete/", rules.routing_delete, name="routing_delete"),
    path("root-causes/", rules.taxonomy, name="taxonomy"),
    path("notifications/", rules.notifications, name="notifications"),
    path("root-causes/<str:kind>/<int:pk>/toggle/", rules.taxonomy_toggle, name="taxonomy_toggle"),
]
