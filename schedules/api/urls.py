"""Routes of the backup schedule API (included under /api/)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from schedules.api.views import BackupScheduleViewSet

router = SimpleRouter()
router.register("backup-schedules", BackupScheduleViewSet, basename="backup-schedule")

urlpatterns = router.urls
