from django.urls import path
from rest_framework.routers import DefaultRouter

from cases.api.notifications import NotificationViewSet
from cases.api.saved_views import SavedViewViewSet
from cases.api.views import (
    CaseViewSet,
    CustomerHistoryViewSet,
    EmailTemplateViewSet,
    PlaybookViewSet,
    RootCauseViewSet,
)

router = DefaultRouter(trailing_slash=True)
router.register("cases", CaseViewSet, basename="case")
router.register("root-causes", RootCauseViewSet, basename="root-cause")
router.register("email-templates", EmailTemplateViewSet, basename="email-template")
router.register("playbooks", PlaybookViewSet, basename="playbook")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("saved-views", SavedViewViewSet, basename="saved-view")
# Customer 360. Also at customers/<id>/history/ (the surveys app owns customers/ and customers/<id>/).
router.register("customer-history", CustomerHistoryViewSet, basename="customer-history")

urlpatterns = [
    path("customers/<int:pk>/history/", CustomerHistoryViewSet.as_view({"get": "retrieve"}),
         name="customer-history-nested"),
    *router.urls,
]
