"""`/api/docs/` works without internet: Swagger UI comes from our own static files.

Issue 14, finding 5: the page loaded `swagger-ui-dist@latest` from a public CDN, so on an
air-gapped network it was blank (`SwaggerUIBundle is not defined`).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

URL_ATTRIBUTES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
QUOTED_URLS = re.compile(r"""["'](https?:)?//[^"']+["']""")


def test_api_docs_page_references_only_local_static_assets(fleet: dict[str, Any]) -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "SwaggerUIBundle" in html
    assert not QUOTED_URLS.findall(html), QUOTED_URLS.findall(html)
    assets = URL_ATTRIBUTES.findall(html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("swagger-ui.css") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        served = Client().get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])
