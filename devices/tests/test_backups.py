"""Stored configurations, and what `device.collect` does around a collector (no SSH here).

Content-addressed storage, `changed`, diffs; retries, their budget, honest failures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.collection import service
from devices.collection.backups import backup_diff, backup_store
from devices.collection.collectors import (
    _REGISTRY,
    Collected,
    CollectionError,
    TransientCollectionError,
)
from devices.models import ConfigBlob, Device, DeviceBackup, DeviceBackupResult

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def device(make_schedule: Any) -> Device:
    return Device.objects.create(name="r1", ip_address="127.0.0.1", backup_method="fake",
                                 backup_schedule=make_schedule())


def new_result(device: Device, n: int = 0) -> DeviceBackupResult:
    assert device.backup_schedule is not None
    return DeviceBackupResult.objects.create(
        device=device, schedule=device.backup_schedule, scheduled_for=T0 + timedelta(days=n)
    )


@pytest.fixture
def fake_collector(collection_config: Any) -> Iterator[Callable[..., list[str]]]:
    """`fake_collector(outcome, ...)`: the `fake` method returns/raises each outcome in turn."""
    collection_config(retry_delays_seconds=(0.0, 0.0))
    calls: list[str] = []

    def install(*outcomes: str | Exception) -> list[str]:
        queue = list(outcomes)

        def collect(device: Device) -> Collected:
            calls.append(device.name)
            outcome = queue.pop(0) if len(queue) > 1 else queue[0]
            if isinstance(outcome, Exception):
                raise outcome
            return Collected(text=outcome)

        _REGISTRY["fake"] = collect
        return calls

    yield install
    _REGISTRY.pop("fake", None)


def test_store_keeps_each_text_once_and_flags_changes(device: Device) -> None:
    first = backup_store(result=new_result(device, 0), text="hostname a\n")
    same = backup_store(result=new_result(device, 1), text="hostname a\n")
    other = backup_store(result=new_result(device, 2), text="hostname b\n")
    assert (first.changed, same.changed, other.changed) == (True, False, True)
    assert (first.previous, same.previous, other.previous) == (None, first, same)
    assert ConfigBlob.objects.count() == 2
    assert first.blob_id == same.blob_id == hashlib.sha256(b"hostname a\n").hexdigest()
    assert first.blob.size == len(b"hostname a\n")


def test_the_same_text_on_two_devices_is_one_blob(device: Device) -> None:
    twin = Device.objects.create(name="r2", ip_address="127.0.0.2",
                                 backup_schedule=device.backup_schedule)
    backup_store(result=new_result(device), text="same\n")
    backup_store(result=new_result(twin), text="same\n")
    assert ConfigBlob.objects.count() == 1 and DeviceBackup.objects.count() == 2


def test_size_counts_utf8_bytes(device: Device) -> None:
    backup = backup_store(result=new_result(device), text="description Zürich\n")
    assert backup.blob.size == len("description Zürich\n".encode())


def test_diff_against_the_previous_backup_and_against_nothing(device: Device) -> None:
    first = backup_store(result=new_result(device, 0), text="hostname a\nend\n")
    second = backup_store(result=new_result(device, 1), text="hostname b\nend\n")
    assert backup_diff(second).diff == (
        f"--- backup {first.pk}\n+++ backup {second.pk}\n@@ -1,2 +1,2 @@\n"
        "-hostname a\n+hostname b\n end\n"
    )
    initial = backup_diff(first)
    assert initial.previous_id is None
    assert initial.diff.startswith("--- /dev/null\n") and "+hostname a\n+end\n" in initial.diff


def test_diff_of_texts_without_final_newline_keeps_lines_apart(device: Device) -> None:
    backup_store(result=new_result(device, 0), text="a\nb")
    second = backup_store(result=new_result(device, 1), text="a\nc")
    assert backup_diff(second).diff.endswith("-b\n+c\n")


# -- device.collect around the collector ---------------------------------------------------


def test_success_stores_the_configuration_with_the_result(
    device: Device, fake_collector: Any
) -> None:
    fake_collector("hostname a\n")
    result = new_result(device)
    assert service.run_collection(result.pk) == "success"
    result.refresh_from_db()
    assert result.status == "success" and result.error == ""
    assert result.backup.blob.text == "hostname a\n"  # type: ignore[attr-defined]


def test_transient_failures_are_retried_then_succeed(device: Device, fake_collector: Any,
                                                    caplog: Any) -> None:
    calls = fake_collector(TransientCollectionError("connection refused by 127.0.0.1:22"),
                           TransientCollectionError("connection refused by 127.0.0.1:22"),
                           "hostname a\n")
    result = new_result(device)
    assert service.run_collection(result.pk) == "success"
    assert len(calls) == 3
    assert caplog.text.count("collect retry: device=") == 2


def test_retries_are_bounded_and_say_how_many_attempts(device: Device, fake_collector: Any,
                                                       collection_config: Any) -> None:
    collection_config(retry_delays_seconds=(0.0,))
    calls = fake_collector(TransientCollectionError("connection refused by 127.0.0.1:22"))
    result = new_result(device)
    assert service.run_collection(result.pk) == "failed"
    result.refresh_from_db()
    assert result.error == "connection refused by 127.0.0.1:22 (tried 2 times)"
    assert len(calls) == 2
    assert not DeviceBackup.objects.exists()


def test_no_retry_that_would_overrun_the_budget(device: Device, fake_collector: Any,
                                                monkeypatch: Any) -> None:
    monkeypatch.setattr(service, "COLLECT_BUDGET", 1)  # less than one more attempt could take
    calls = fake_collector(TransientCollectionError("connection refused by 127.0.0.1:22"))
    assert service.run_collection(new_result(device).pk) == "failed"
    assert len(calls) == 1


def test_permanent_failures_are_not_retried(device: Device, fake_collector: Any) -> None:
    calls = fake_collector(CollectionError("authentication failed on 127.0.0.1:22"))
    result = new_result(device)
    assert service.run_collection(result.pk) == "failed"
    result.refresh_from_db()
    assert result.error == "authentication failed on 127.0.0.1:22"
    assert len(calls) == 1


def test_a_crashing_collector_still_ends_the_row(device: Device, fake_collector: Any) -> None:
    fake_collector(RuntimeError("boom"))
    result = new_result(device)
    assert service.run_collection(result.pk) == "failed"
    result.refresh_from_db()
    assert result.error == "RuntimeError: boom" and result.finished_at is not None


def test_a_backup_that_cannot_be_stored_fails_the_row(device: Device, fake_collector: Any,
                                                      monkeypatch: Any) -> None:
    fake_collector("hostname a\n")

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "backup_store", broken)
    result = new_result(device)
    assert service.run_collection(result.pk) == "failed"
    result.refresh_from_db()
    assert result.error == "could not store the configuration: disk full"
