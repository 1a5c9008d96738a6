"""Routes of the devices and scheduled-backups API (included under /api/)."""

from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from devices.api import views, windows

router = SimpleRouter()
router.register("devices", views.DeviceViewSet, basename="device")
router.register("maintenance-windows", windows.MaintenanceWindowViewSet,
                basename="maintenance-window")

urlpatterns = [
    path(
        "maintenance-windows/calendar/",
        windows.WindowCalendarView.as_view(),
        name="maintenance-windows-calendar",
    ),
    path(
        "scheduled-backups/calendar/",
        views.CalendarView.as_view(),
        name="scheduled-backups-calendar",
    ),
    path(
        "scheduled-backups/history/",
        views.HistoryView.as_view(),
        name="scheduled-backups-history",
    ),
    path(
        "scheduled-backups/analytics/",
        views.AnalyticsView.as_view(),
        name="scheduled-backups-analytics",
    ),
    path(
        "scheduled-backups/bulk-assign/",
        views.BulkAssignView.as_view(),
        name="scheduled-backups-bulk-assign",
    ),
    # Any id-like segment reaches the view, so a malformed id is the API's JSON 404.
    re_path(
        r"^scheduled-backups/(?P<pk>[^/.]+)/test/$",
        views.RunNowView.as_view(),
        name="scheduled-backups-run-now",
    ),
    # Any id-like segment reaches the views, so a malformed id is the API's JSON 404.
    re_path(
        r"^devices/(?P<device_id>[^/.]+)/backups/$",
        views.DeviceBackupListView.as_view(),
        name="device-backups",
    ),
    re_path(
        r"^devices/(?P<device_id>[^/.]+)/backups/(?P<backup_id>[^/.]+)/$",
        views.DeviceBackupDetailView.as_view(),
        name="device-backup-detail",
    ),
    re_path(
        r"^devices/(?P<device_id>[^/.]+)/backups/(?P<backup_id>[^/.]+)/diff/$",
        views.DeviceBackupDiffView.as_view(),
        name="device-backup-diff",
    ),
    *router.urls,
]
