"""Follow-up pages: the public recovery-check page (no sign-in) and the recognition feed."""

from django.urls import path

from followup import views

app_name = "followup"
urlpatterns = [
    path("r/<str:token>/", views.verify, name="verify"),
    path("recognition/", views.recognition_list, name="recognition"),
]
