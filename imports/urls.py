from django.urls import path

from imports import views

app_name = "imports"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.upload, name="upload"),
    path("<int:pk>/", views.job_detail, name="job"),
    path("<int:pk>/progress/", views.job_progress, name="progress"),
    path("<int:pk>/start/", views.job_start, name="start"),
    path("<int:pk>/requeue/", views.job_requeue, name="requeue"),
    path("<int:pk>/discard/", views.job_discard, name="discard"),
    path("<int:pk>/failed-rows.csv", views.failed_rows, name="failed_rows"),
]
