"""Django serves the single-page app for each of its routes, so a reload of any page works."""

from __future__ import annotations

import pytest
from django.urls import Resolver404, resolve


@pytest.mark.parametrize(
    "path",
    [
        "/", "/login", "/devices", "/devices/5", "/devices/5/", "/devices/5/edit",
        "/results", "/results/", "/analytics", "/schedules", "/schedules/",
        "/vaultadmin/schedule-calendar",
    ],
)
def test_every_page_of_the_app_resolves_to_the_spa(path: str) -> None:
    assert resolve(path).url_name == "spa"


@pytest.mark.parametrize(
    "path", ["/devices/x", "/devices/5/backups", "/resultsx", "/analytics/1", "/schedules/1"]
)
def test_paths_that_are_no_page_of_the_app_are_not_the_spa(path: str) -> None:
    try:
        match = resolve(path)
    except Resolver404:
        return
    assert match.url_name != "spa"
