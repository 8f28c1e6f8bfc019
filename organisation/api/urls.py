from rest_framework.routers import DefaultRouter

from organisation.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("teams", views.TeamViewSet, basename="team")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("closed-days", views.ClosedDayViewSet, basename="closed-day")
router.register("sla-policies", views.SlaPolicyViewSet, basename="sla-policy")
router.register("routing-rules", views.RoutingRuleViewSet, basename="routing-rule")
router.register("root-cause-categories", views.RootCauseCategoryViewSet, basename="root-cause-category")
router.register("root-cause-entries", views.RootCauseEntryViewSet, basename="root-cause-entry")
router.register("notification-preferences", views.NotificationPreferenceViewSet, basename="notification-preference")
urlpatterns = router.urls
