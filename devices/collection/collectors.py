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


class HostKeyRefused(CollectionError):
    """The device presented an SSH host key the policy refuses (devices.collection.hostkeys);
    nothing was sent to it. `offered_key` waits on the device for an admin to accept it."""

    def __init__(self, message: str, *, offered_key: str) -> None:
        super().__init__(message)
        self.offered_key = offered_key


def config_too_large(*, command: str, limit: int) -> CollectionError:
    """The error of a configuration larger than `collection.max_config_bytes`."""
    return CollectionError(
        f"configuration too large: `{command}` printed more than {limit} bytes "
        "(collection.max_config_bytes); nothing was stored"
    )


@dataclass(frozen=True)
class Collected:
    """What a backup method brought back: the configuration and, on a first use under the
    `tofu` policy, the SSH host key to trust from now on."""

    text: str
    command: str = ""
    trust_host_key: str = ""


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
