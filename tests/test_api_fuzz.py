"""Schemathesis fuzzes every operation of /api/schema/ against the live server: no 5xx, ever.

Positive and negative cases (the schema's own bounds broken) are sent with a superuser's and
a viewer's token to a real server thread on the test PostgreSQL; answers must match the schema
(status codes, content types, bodies) and invalid input must be refused with a 4xx.
`FUZZ_EXAMPLES` raises the examples per operation for a longer local run.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@pytest.fixture(params=["superuser", "viewer"])
def fuzz_token(
    request: pytest.FixtureRequest, fleet: dict[str, Any], redis_db: Any, make_schedule: Any
) -> str:
    """An API token of a superuser (every write path) or of a viewer (who sees part of the
    fleet and may change nothing), with a small fleet and results for the fuzzer to find."""
    from knox.models import AuthToken

    from devices.models import Device
    from devices.services import schedule_run_now

    make_schedule(name="Cron", schedule_type="cron", cron_expression="*/30 * * * *")
    schedule_run_now(schedule=fleet["schedules"]["daily"], devices=Device.objects.all())
    return AuthToken.objects.create(user=fleet["users"][request.param])[1]


@pytest.fixture
def no_outbound_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    """A channel the fuzzer made and then tests must not reach the network: its webhook and
    e-mail sends fail at once (the test send reports the failure)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no network in the fuzz test")

    monkeypatch.setattr("alerts.delivery.urllib.request.urlopen", refuse)
    monkeypatch.setattr("alerts.delivery.get_connection", refuse)


@pytest.fixture
def api_schema(live_server: Any, fuzz_token: str, no_outbound_notifications: None) -> Any:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        with_security_parameters=False,  # the token below is the credential, not a fuzzed one
    )
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_without_a_server_error(
    case: Any, fuzz_token: str
) -> None:
    token = fuzz_token
    if case.operation.path == "/api/auth/logout/":
        # Logout revokes the token it is sent with: it gets one of its own each time, so the
        # operations fuzzed after it still run as the user.
        from knox.models import AuthToken

        user = AuthToken.objects.get(token_key=fuzz_token[:15]).user
        token = AuthToken.objects.create(user=user)[1]
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        # Schema-valid input may still be refused: ids that do not exist, a cron expression
        # that never fires, a name already taken. Refusing that is right, not a failure.
        excluded_checks=[positive_data_acceptance],
    )


EXPECTED_OPERATIONS = {
    ("/api/auth/token/", "post"),
    ("/api/auth/session/", "get"), ("/api/auth/session/", "post"),
    ("/api/auth/session/", "delete"), ("/api/auth/logout/", "post"),
    ("/api/devices/", "get"), ("/api/devices/{id}/", "get"), ("/api/devices/{id}/", "patch"),
    ("/api/backup-schedules/", "get"), ("/api/backup-schedules/", "post"),
    ("/api/backup-schedules/{id}/", "get"), ("/api/backup-schedules/{id}/", "put"),
    ("/api/backup-schedules/{id}/", "patch"), ("/api/backup-schedules/{id}/", "delete"),
    ("/api/scheduled-backups/calendar/", "get"), ("/api/scheduled-backups/history/", "get"),
    ("/api/scheduled-backups/bulk-assign/", "post"),
    ("/api/scheduled-backups/{id}/test/", "post"), ("/api/scheduler/status/", "get"),
    ("/api/devices/{device_id}/backups/", "get"),
    ("/api/devices/{device_id}/backups/{backup_id}/", "get"),
    ("/api/devices/{device_id}/backups/{backup_id}/diff/", "get"),
    ("/api/devices/{id}/backup-now/", "post"),
    ("/api/scheduled-backups/analytics/", "get"),
    ("/api/notification-channels/", "get"), ("/api/notification-channels/", "post"),
    ("/api/notification-channels/{id}/", "get"), ("/api/notification-channels/{id}/", "put"),
    ("/api/notification-channels/{id}/", "patch"),
    ("/api/notification-channels/{id}/", "delete"),
    ("/api/notification-channels/{id}/test/", "post"),
    ("/api/notification-rules/", "get"), ("/api/notification-rules/", "post"),
    ("/api/notification-rules/{id}/", "get"), ("/api/notification-rules/{id}/", "put"),
    ("/api/notification-rules/{id}/", "patch"), ("/api/notification-rules/{id}/", "delete"),
    ("/api/notification-rules/device-groups/", "get"),
    ("/api/notifications/", "get"), ("/api/notifications/{id}/", "get"),
    ("/api/maintenance-windows/", "get"), ("/api/maintenance-windows/", "post"),
    ("/api/maintenance-windows/{id}/", "get"), ("/api/maintenance-windows/{id}/", "put"),
    ("/api/maintenance-windows/{id}/", "patch"), ("/api/maintenance-windows/{id}/", "delete"),
    ("/api/maintenance-windows/calendar/", "get"),
}


def test_schema_is_valid_without_warnings_and_documents_every_endpoint() -> None:
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS  # no warnings, no errors
    operations = {
        (path, method) for path, item in schema["paths"].items() for method in item
    }
    assert operations == EXPECTED_OPERATIONS
    calendar = schema["paths"]["/api/scheduled-backups/calendar/"]["get"]
    assert {p["name"] for p in calendar["parameters"]} == {"start", "days"}
    body = calendar["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["type"] == "object" and body["additionalProperties"]["type"] == "array"
    devices = schema["paths"]["/api/devices/"]["get"]
    assert {p["name"] for p in devices["parameters"]} == {
        "backup_schedule", "device_group", "collection_group", "enabled", "search", "ordering",
        "backup_status", "page", "page_size",
    }


@pytest.mark.django_db
def test_api_docs_page_renders(client: Any) -> None:
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
