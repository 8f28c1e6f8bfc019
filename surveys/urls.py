from django.urls import path

from surveys import views

app_name = "surveys"
urlpatterns = [
    path("deliveries/", views.console, name="console"),
    path("deliveries/<slug:slug>/", views.source_deliveries, name="source"),
    path("deliveries/<slug:slug>/replay-failed/", views.source_replay_failed, name="replay_failed"),
    path("deliveries/<slug:slug>/<int:pk>/", views.delivery_detail, name="delivery"),
    path("deliveries/<slug:slug>/<int:pk>/replay/", views.delivery_replay_view, name="replay"),
]
