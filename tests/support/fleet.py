"""Fast set-up of large fleets for process tests and benchmarks."""

from __future__ import annotations

from typing import Any

from devices.models import CollectionGroup, Device


def make_devices(n: int, *, schedule: Any, group: CollectionGroup | None = None,
                 prefix: str = "dev", method: str = "test") -> list[int]:
    """Create `n` enabled devices on `schedule` with loopback addresses; returns their ids."""
    devices = [
        Device(
            name=f"{prefix}-{i:06d}",
            ip_address=f"127.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
            backup_schedule=schedule, collection_group=group, backup_method=method,
        )
        for i in range(n)
    ]
    Device.objects.bulk_create(devices, batch_size=2000)
    return list(Device.objects.filter(name__startswith=f"{prefix}-").values_list("id", flat=True))
