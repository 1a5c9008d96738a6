"""Routes of the alerts API (included under /api/)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from alerts.api import views

router = SimpleRouter()
router.register("notification-channels", views.NotificationChannelViewSet,
                basename="notification-channel")
router.register("notification-rules", views.NotificationRuleViewSet,
                basename="notification-rule")
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = router.urls
