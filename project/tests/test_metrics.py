"""`GET /metrics` and `GET /healthz` against the real PostgreSQL and Redis (and a real beat):
figures move when schedules fire or windows are missed, a down component is reported and
never turns into a 500, and nothing names a device."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from beat.models import SchedulerState
from devices import metrics as counters
from devices.choices import TERMINAL_RESULT_STATUSES
from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.collection.service import run_collection
from devices.dispatch.fanout import Occurrence, enqueue_occurrence, record_missed, repair_stranded
from devices.models import DeviceBackupResult
from schedules.models import BackupSchedule
from schedules.services import schedule_create
from tests.support.fleet import make_devices

CONTRACT = (
    "devicevault_scheduler_leader",
    "devicevault_lock_ttl_seconds",
    "devicevault_last_tick_age_seconds",
    "devicevault_tasks_published_total",
    "devicevault_results",
    "devicevault_results_finished_total",
    "devicevault_results_lost_total",
    "devicevault_devices_stale",
    "devicevault_notifications_sent_total",
    "devicevault_queue_depth",
    "devicevault_oldest_queued_result_age_seconds",
)


class Scrape:
    """One answer of /metrics: its text and its samples by (name, labels)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.types: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                self.samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}


def scrape(client: Any) -> Scrape:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return Scrape(response.content.decode())


def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_down(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the application Redis and the broker at a closed port (the cached clients too)."""
    from project import metrics
    from project import redis_client as shared_redis

    url = f"redis://:not-shown-s3cret@127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    monkeypatch.setattr(shared_redis, "_shared", None)
    monkeypatch.setattr(metrics, "_broker_clients", {})
    yield url


@pytest.fixture
def database_down(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close the connection and point it at a closed port until the test ends."""
    connection.close()
    if connection.vendor == "sqlite":
        monkeypatch.setitem(connection.settings_dict, "NAME", "/nonexistent/devicevault.sqlite3")
    else:
        monkeypatch.setitem(connection.settings_dict, "PORT", str(closed_port()))
    yield
    connection.close()
    monkeypatch.undo()


# -- /metrics ------------------------------------------------------------------------------
def test_metrics_answer_without_login_with_every_contract_metric(
    client: Any, db: None, redis_db: Any
) -> None:
    result = scrape(client)
    for name in CONTRACT:
        assert f"# TYPE {name} " in result.text, name
    assert result.value("devicevault_scheduler_leader") == 0
    assert result.value("devicevault_lock_ttl_seconds") == 0
    assert result.value("devicevault_oldest_queued_result_age_seconds") == 0
    for status in Status.values:
        assert result.value("devicevault_results", status=status) == 0
    assert result.value("devicevault_queue_depth", queue="collect.default") == 0
    assert result.types["devicevault_tasks_published"] == "counter"
    for status in TERMINAL_RESULT_STATUSES:
        assert result.value("devicevault_results_finished_total", status=status) == 0
    assert result.value("devicevault_results_finished_total", status="queued") is None
    assert result.types["devicevault_results_finished"] == "counter"
    assert result.value("devicevault_results_lost_total") == 0
    assert result.value("devicevault_devices_stale") == 0
    for kind in ("email", "webhook"):
        assert result.value("devicevault_notifications_sent_total", kind=kind) == 0
    for component in ("database", "redis", "broker"):
        assert result.value("devicevault_up", component=component) == 1


def test_last_tick_age_is_nan_before_the_first_tick_and_seconds_after(
    client: Any, db: None, redis_db: Any
) -> None:
    age = scrape(client).value("devicevault_last_tick_age_seconds")
    assert age is not None and age != age  # NaN: the beat never ticked
    state = SchedulerState.load()
    state.last_tick = datetime.now(UTC) - timedelta(seconds=42)
    state.save()
    age = scrape(client).value("devicevault_last_tick_age_seconds")
    assert age is not None and 42 <= age < 60


def test_a_fanout_moves_published_results_queue_depth_and_oldest_age_without_naming_devices(
    client: Any, fleet: dict[str, Any], redis_db: Any
) -> None:
    daily = fleet["schedules"]["daily"]  # Core-Router-01 (sydney-dc1), Branch-Switch-01
    before = scrape(client)
    assert before.value("devicevault_queue_depth", queue="collect.sydney-dc1") == 0

    occurrence = Occurrence(schedule_id=daily.pk, scheduled_for=datetime.now(UTC))
    assert enqueue_occurrence(occurrence) == (2, 2)
    DeviceBackupResult.objects.filter(schedule=daily).update(
        queued_at=datetime.now(UTC) - timedelta(seconds=90)
    )

    after = scrape(client)
    assert after.value("devicevault_tasks_published_total", schedule=str(daily.pk)) == 2
    assert after.value("devicevault_results", status="queued") == 2
    assert after.value("devicevault_queue_depth", queue="collect.sydney-dc1") == 1
    assert after.value("devicevault_queue_depth", queue="collect.default") == 1
    oldest = after.value("devicevault_oldest_queued_result_age_seconds")
    assert oldest is not None and 90 <= oldest < 120

    enqueue_occurrence(occurrence)  # the same occurrence again: nothing new, nothing counted
    assert scrape(client).value(
        "devicevault_tasks_published_total", schedule=str(daily.pk)
    ) == 2

    for device in fleet["devices"].values():
        assert device.name not in after.text
        assert device.ip_address not in after.text
    assert daily.name not in after.text  # schedules are labelled by id


def test_a_missed_window_is_counted_under_its_own_status(
    client: Any, fleet: dict[str, Any], redis_db: Any
) -> None:
    weekly = fleet["schedules"]["weekly"]  # one device: Core-Router-02
    assert scrape(client).value("devicevault_results", status="missed_window") == 0
    rows = record_missed(
        Occurrence(schedule_id=weekly.pk, scheduled_for=datetime.now(UTC) - timedelta(days=3))
    )
    assert rows == 1
    result = scrape(client)
    assert result.value("devicevault_results", status="missed_window") == 1
    assert result.value("devicevault_results_finished_total", status="missed_window") == 1
    assert result.value("devicevault_results", status="queued") == 0
    assert result.value("devicevault_oldest_queued_result_age_seconds") == 0
    assert result.value("devicevault_tasks_published_total", schedule=str(weekly.pk)) is None


def test_promtool_check_metrics_accepts_the_live_output(
    client: Any, fleet: dict[str, Any], redis_db: Any
) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`; .ci/run installs it)")
    daily = fleet["schedules"]["daily"]
    enqueue_occurrence(Occurrence(schedule_id=daily.pk, scheduled_for=datetime.now(UTC)))
    record_missed(Occurrence(schedule_id=fleet["schedules"]["weekly"].pk,
                             scheduled_for=datetime.now(UTC) - timedelta(days=3)))
    counters.count_results_lost()
    counters.count_notification_sent("webhook")
    text = scrape(client).text
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60
    )
    problems = (checked.stdout + checked.stderr).decode()
    assert checked.returncode == 0 and not problems.strip(), problems


def test_a_collection_counts_its_final_status_once(
    client: Any, fleet: dict[str, Any], redis_db: Any
) -> None:
    weekly = fleet["schedules"]["weekly"]  # Core-Router-02, no backup method: it fails
    enqueue_occurrence(Occurrence(schedule_id=weekly.pk, scheduled_for=datetime.now(UTC)))
    result_id = DeviceBackupResult.objects.get(schedule=weekly).pk
    assert scrape(client).value("devicevault_results", status="queued") == 1

    assert run_collection(result_id) == Status.FAILED
    assert run_collection(result_id) == "skipped"  # a duplicate message changes nothing
    after = scrape(client)
    assert after.value("devicevault_results_finished_total", status="failed") == 1
    assert after.value("devicevault_results_finished_total", status="success") == 0
    assert after.value("devicevault_results", status="failed") == 1
    assert after.value("devicevault_results", status="queued") == 0


def test_stranded_rows_too_old_to_publish_count_as_missed_window(
    client: Any, fleet: dict[str, Any], redis_db: Any
) -> None:
    daily = fleet["schedules"]["daily"]  # two devices
    now = datetime.now(UTC)
    with pytest.MonkeyPatch.context() as patch:  # the beat died before publishing anything
        patch.setattr("devices.dispatch.fanout.publish_pending", lambda *a, **k: 0)
        enqueue_occurrence(Occurrence(schedule_id=daily.pk, scheduled_for=now - timedelta(hours=5)))
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert repair_stranded(now=later, window=timedelta(hours=2), older_than=later) == 0
    result = scrape(client)
    assert result.value("devicevault_results", status="missed_window") == 2
    assert result.value("devicevault_results_finished_total", status="missed_window") == 2


def test_lost_results_count_as_lost_and_as_failed(
    client: Any, db: None, redis_db: Any
) -> None:
    counters.count_results_lost(2)
    result = scrape(client)
    assert result.value("devicevault_results_lost_total") == 2
    assert result.value("devicevault_results_finished_total", status="failed") == 2


def test_a_large_table_is_read_from_statistics_and_index_backed_counts_only(
    client: Any, fleet: dict[str, Any], redis_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14.8: no scrape counts every row. Final statuses come from PostgreSQL's planner
    statistics (exact here: ANALYZE reads every row of a small table), the in-flight statuses
    and any status the statistics do not list from counts the status index answers."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's; SQLite always counts exactly")
    monkeypatch.setattr(counters, "EXACT_COUNT_MAX_ROWS", 0)  # treat the table as large
    device = fleet["devices"]["core1"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = ["success"] * 300 + ["failed"] * 60 + ["missed_window"] * 7 + ["queued"] * 2

    def add(kinds: list[str], offset: int) -> None:
        DeviceBackupResult.objects.bulk_create(
            DeviceBackupResult(device=device, scheduled_for=start + timedelta(minutes=offset + i),
                               status=status, queued_at=start)
            for i, status in enumerate(kinds)
        )

    add(statuses, 0)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {DeviceBackupResult._meta.db_table}")
    add(["queued"] * 3 + ["running"] + ["skipped"] * 4, len(statuses))  # after the statistics

    with CaptureQueriesContext(connection) as queries:
        result = scrape(client)
    assert result.value("devicevault_up", component="database") == 1
    assert result.value("devicevault_results", status="success") == 300
    assert result.value("devicevault_results", status="failed") == 60
    assert result.value("devicevault_results", status="missed_window") == 7
    assert result.value("devicevault_results", status="queued") == 5  # exact, not 2
    assert result.value("devicevault_results", status="running") == 1
    assert result.value("devicevault_results", status="skipped") == 4  # not in the statistics
    table = DeviceBackupResult._meta.db_table
    counts = [q["sql"] for q in queries.captured_queries
              if table in q["sql"] and "COUNT(" in q["sql"].upper()]
    assert counts  # the in-flight statuses were counted
    for sql in counts:
        assert '"status" = ' in sql or '"status" IN ' in sql, f"counts every row: {sql}"
        assert "'success'" not in sql, f"counts the bulk of the table: {sql}"


@pytest.mark.processes
@pytest.mark.timeout(120)
def test_collections_in_a_real_worker_process_show_in_the_web_scrape(
    client: Any, procs: Any, redis_db: Any, make_schedule: Any
) -> None:
    schedule = make_schedule()
    make_devices(3, schedule=schedule)
    procs.worker(concurrency=1)
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    deadline = time.monotonic() + 60
    while DeviceBackupResult.objects.filter(status=Status.SUCCESS).count() < 3:
        assert time.monotonic() < deadline, "the worker did not collect the three devices"
        time.sleep(0.2)
    result = scrape(client)
    assert result.value("devicevault_results_finished_total", status="success") == 3
    assert result.value("devicevault_results", status="success") == 3


# -- METRICS_TOKEN -------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Token s3cret-metrics-token",
                                    "Bearer", "bearer  s3cret-metrics-token-and-more"])
def test_with_a_metrics_token_a_scrape_without_that_bearer_token_is_401(
    client: Any, db: None, redis_db: Any, settings: Any, header: str | None
) -> None:
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"devicevault_" not in response.content
    assert client.get("/healthz").status_code == 200  # the health check stays open


def test_with_a_metrics_token_the_right_bearer_token_is_answered(
    client: Any, db: None, redis_db: Any, settings: Any
) -> None:
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert response.status_code == 200
    assert b"# TYPE devicevault_results gauge" in response.content


def test_without_a_metrics_token_no_authorization_is_needed(
    client: Any, db: None, redis_db: Any, settings: Any
) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200


def test_metrics_still_answer_200_with_redis_down(
    client: Any, db: None, redis_down: str
) -> None:
    started = time.monotonic()
    result = scrape(client)
    assert time.monotonic() - started < 15
    assert result.value("devicevault_up", component="redis") == 0
    assert result.value("devicevault_up", component="broker") == 0
    assert result.value("devicevault_up", component="database") == 1
    assert result.value("devicevault_scheduler_leader") is None  # unknown, not "no leader"
    assert result.value("devicevault_results", status="queued") == 0
    assert "not-shown-s3cret" not in result.text


def test_metrics_still_answer_200_with_the_database_down(
    client: Any, database_down: None, redis_db: Any
) -> None:
    result = scrape(client)
    assert result.value("devicevault_up", component="database") == 0
    assert result.value("devicevault_up", component="redis") == 1
    assert result.value("devicevault_scheduler_leader") == 0
    assert result.value("devicevault_results", status="queued") is None
    # Without the database the collection groups are unknown: collect.default still counts.
    assert result.value("devicevault_queue_depth", queue="collect.default") == 0


@pytest.mark.processes
@pytest.mark.timeout(120)
def test_leader_gauge_is_1_while_a_real_beat_leads_and_0_after_it_stops(
    client: Any, procs: Any, redis_db: Any
) -> None:
    now = datetime.now(UTC)
    # Exactly one occurrence to catch up at start (two minutes ago), none again for a year.
    local = (now - timedelta(minutes=2)).astimezone(ZoneInfo("Australia/Sydney"))
    schedule = schedule_create(
        name="once", schedule_type="cron",
        cron_expression=f"{local.minute} {local.hour} {local.day} {local.month} *",
    )
    BackupSchedule.objects.filter(pk=schedule.pk).update(active_since=now - timedelta(hours=1))
    make_devices(3, schedule=schedule)
    state = SchedulerState.load()
    state.last_tick = now - timedelta(minutes=5)
    state.save()

    idle = scrape(client)
    assert idle.value("devicevault_scheduler_leader") == 0
    assert idle.value("devicevault_lock_ttl_seconds") == 0

    beat = procs.beat()
    beat.wait_for(r"leading: pid=")
    leading = scrape(client)
    assert leading.value("devicevault_scheduler_leader") == 1
    ttl = leading.value("devicevault_lock_ttl_seconds")
    assert ttl is not None and 0 < ttl <= 6  # the test config's lock_ttl_seconds
    assert leading.value("devicevault_scheduler_running") == 1
    tick_age = leading.value("devicevault_last_tick_age_seconds")
    assert tick_age is not None and 0 <= tick_age < 10
    assert leading.value("devicevault_tasks_published_total", schedule=str(schedule.pk)) == 3
    lateness = leading.value("devicevault_last_fanout_lateness_seconds")
    assert lateness is not None and 120 <= lateness < 240  # caught up, two minutes late
    assert leading.value("devicevault_last_fanout_duration_seconds") is not None
    assert leading.value("devicevault_last_fanout_devices") == 3
    for name in ("dev-000000", "127.0.0.0", "127.0.0.1"):
        assert name not in leading.text

    assert beat.stop() == 0
    stopped = scrape(client)
    assert stopped.value("devicevault_scheduler_leader") == 0
    assert stopped.value("devicevault_lock_ttl_seconds") == 0
    assert stopped.value("devicevault_scheduler_running") == 0


# -- /healthz ------------------------------------------------------------------------------
def test_healthz_is_200_with_exactly_status_database_redis_when_both_answer(
    client: Any, db: None, redis_db: Any
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_naming_redis_without_its_url_when_redis_is_down(
    client: Any, db: None, redis_down: str
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"status", "database", "redis"}
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["redis"] != "ok"
    assert "s3cret" not in response.content.decode()
    assert "127.0.0.1" not in response.content.decode()


def test_healthz_is_503_when_the_database_is_down(
    client: Any, database_down: None, redis_db: Any
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] != "ok"
    assert body["redis"] == "ok"
