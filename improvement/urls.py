from django.urls import path

from improvement import views

app_name = "improvement"
urlpatterns = [
    path("", views.plan_list, name="list"),
    path("new/", views.plan_create, name="create"),
    path("export.csv", views.plan_export, name="export"),
    path("alerts/", views.alert_list, name="alerts"),
    path("<int:pk>/", views.plan_detail, name="detail"),
    path("<int:pk>/notes/", views.plan_note, name="note"),
    path("<int:pk>/cases/", views.plan_link, name="link"),
    path("<int:pk>/cases/<int:case_id>/unlink/", views.plan_unlink, name="unlink"),
]
