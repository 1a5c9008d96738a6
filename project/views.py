"""Project-level views: the single-page app shell and the health check."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

_MISSING_BUILD = (
    "<!doctype html><title>DeviceVault</title><h1>DeviceVault</h1>"
    "<p>The web front end is not built yet: run <code>./devicevault.sh start</code> "
    "(or <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>).</p>"
    '<p>The <a href="/admin/">admin</a> and the <a href="/api/docs/">API</a> work meanwhile.</p>'
)


@ensure_csrf_cookie
def spa(request: HttpRequest) -> HttpResponse:
    """Serve the built Vue app's index.html for every client-side route."""
    index = settings.FRONTEND_DIST / "index.html"
    try:
        return HttpResponse(index.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return HttpResponse(_MISSING_BUILD)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """`{"status","database","redis"}`: 200 when both answer, else 503. No login, no secrets:
    a failure is named by its exception class only (a message could carry a URL or host)."""
    from project.redis_client import redis_client

    result = {"status": "ok", "database": "ok", "redis": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure is reported, not raised
        result["database"] = type(exc).__name__
    try:
        redis_client().ping()
    except Exception as exc:
        result["redis"] = type(exc).__name__
    if result["database"] != "ok" or result["redis"] != "ok":
        result["status"] = "error"
    return JsonResponse(result, status=200 if result["status"] == "ok" else 503)
