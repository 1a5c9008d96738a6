"""The `/api/` tree: each app contributes its routes; the project adds auth and the schema."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from project.auth_api import LogoutView, SessionView, TokenView


@csrf_exempt  # any method: a 404 must not turn into a CSRF page
def api_not_found(request: HttpRequest) -> JsonResponse:
    """JSON 404 for any other path under /api/ (not Django's HTML page)."""
    return JsonResponse({"detail": "Not found."}, status=404)


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/session/", SessionView.as_view(), name="auth-session"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("", include("beat.urls")),
    path("", include("schedules.api.urls")),
    path("", include("devices.api.urls")),
    path("", include("alerts.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Only paths ending in "/": a missing slash still gets CommonMiddleware's redirect.
    re_path(r"^.*/$", api_not_found),
]
