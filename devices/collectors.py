"""Backup methods: a small registry from a device's `backup_method` to the code that collects it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devices.models import Device


class CollectionError(Exception):
    """Collection failed; the message is stored on the result as its error."""


class TransientCollectionError(CollectionError):
    """Collection failed on the network (refused, unreachable, timed out connecting, connection
    lost): trying again a little later may work, so the task retries it a bounded number of
    times."""


@dataclass(frozen=True)
class Collected:
    """What a backup method brought back."""

    text: str


Collector = Callable[["Device"], Collected]

_REGISTRY: dict[str, Collector] = {}


def register(method: str, collector: Collector) -> None:
    """Make `collector` handle devices whose backup_method is `method`."""
    _REGISTRY[method] = collector


def collector_for(device: Device) -> Collector:
    """The collector for the device, or CollectionError saying why there is none."""
    method = device.backup_method
    if not method:
        raise CollectionError(
            f"device {device.name} has no backup method: nothing was collected "
            "(set its backup method)"
        )
    try:
        return _REGISTRY[method]
    except KeyError:
        raise CollectionError(
            f"backup method {method!r} of device {device.name} is not available on this worker"
        ) from None
