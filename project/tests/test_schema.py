"""The OpenAPI schema says what every answer carries (the front end's types come from it)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return schema["components"]["schemas"]


def test_a_response_requires_every_field_even_those_a_request_may_leave_out(
    components: dict[str, Any],
) -> None:
    schedule = components["BackupSchedule"]
    assert set(schedule["required"]) == set(schedule["properties"])
    assert "enabled" not in components["BackupScheduleRequest"].get("required", [])


def test_a_page_always_carries_next_and_previous(components: dict[str, Any]) -> None:
    assert components["PaginatedDeviceList"]["required"] == ["count", "next", "previous", "results"]


def test_a_field_a_hand_built_answer_may_leave_out_stays_optional(
    components: dict[str, Any],
) -> None:
    status = components["SchedulerStatus"]
    assert "lock_error" in status["properties"]
    assert "lock_error" not in status["required"]
