"""URL routes: admin, the API, health and metrics, and the single-page app."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from project import metrics, views
from project.login_throttle import admin_login_form

admin.site.login_form = admin_login_form()  # says why a locked-out login is refused

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/", include("project.api_urls")),
    re_path(
        r"^(?:login|devices(?:/\d+(?:/edit)?)?|results|analytics|schedules|alerts|vaultadmin/schedule-calendar)?/?$",
        views.spa,
        name="spa",
    ),
]
