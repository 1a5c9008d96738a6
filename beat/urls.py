"""Routes of the beat app (included under /api/)."""

from __future__ import annotations

from django.urls import path

from beat.api import SchedulerStatusView

urlpatterns = [
    path("scheduler/status/", SchedulerStatusView.as_view(), name="scheduler-status"),
]
