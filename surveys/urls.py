from django.urls import path

from surveys import setup_views, theme_views, views

app_name = "surveys"
urlpatterns = [
    path("deliveries/", views.console, name="console"),
    path("deliveries/<slug:slug>/", views.source_deliveries, name="source"),
    path("deliveries/<slug:slug>/replay-failed/", views.source_replay_failed, name="replay_failed"),
    path("deliveries/<slug:slug>/<int:pk>/", views.delivery_detail, name="delivery"),
    path("deliveries/<slug:slug>/<int:pk>/replay/", views.delivery_replay_view, name="replay"),
    path("setup/", setup_views.setup_home, name="setup"),
    path("setup/new/<slug:vendor>/", setup_views.setup_new, name="setup_new"),
    path("setup/preview/", setup_views.setup_preview, name="setup_preview"),
    path("setup/source/<slug:slug>/", setup_views.setup_source, name="setup_source"),
    path("setup/source/<slug:slug>/test/", setup_views.setup_test_delivery, name="setup_test"),
    path("setup/source/<slug:slug>/deliveries/", setup_views.setup_deliveries, name="setup_deliveries"),
    path("themes/", theme_views.theme_list, name="theme_list"),
    path("themes/new/", theme_views.theme_create, name="theme_create"),
    path("themes/preview/", theme_views.theme_preview, name="theme_preview"),
    path("themes/discover/", theme_views.theme_discover, name="theme_discover"),
    path("themes/<int:pk>/edit/", theme_views.theme_edit, name="theme_edit"),
    path("themes/<int:pk>/<slug:decision>/", theme_views.theme_decide, name="theme_decide"),
]
