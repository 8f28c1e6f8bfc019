from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.index, name="index"),
    path("overdue/", views.dashboard, name="dashboard"),
    path("kpis/", views.kpis, name="reports"),
    path("root-causes/", views.root_causes, name="root_causes"),
    path("scores/", views.scores, name="scores"),
    path("recovery/", views.recovery, name="recovery"),
    path("themes/", views.themes, name="themes"),
    path("contact/", views.contact, name="contact"),
    path("segments/", views.segments, name="segments"),
    path("journey/", views.journey_map, name="journey_map"),
    path("results/", views.results, name="results"),
    path("impact/", views.impact, name="impact"),
    path("export/<slug:name>.csv", views.export_csv, name="export"),
    path("filter-options/", views.filter_options, name="filter_options"),
]
