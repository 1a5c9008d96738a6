"""The `local` backup method: back up a regular file on the collecting machine.

For a configuration that lives on the worker's own host (a Linux server's config file, an
export another tool drops on disk) and for the demo. The device's `backup_command` names the
file, relative to the operator's local root (`DEVICEVAULT_LOCAL_ROOT`, default
`<var>/local-devices`). Nothing from the device record is ever run: the file is only read,
only if it is a regular file whose real path (symlinks and `..` resolved) lies inside the
root, and at most `collection.max_config_bytes` of it. A staff user who may edit devices can
therefore read nothing the operator did not put under the root.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from devices.collection.collectors import Collected, CollectionError, register
from devices.collection.platforms import normalize, platform_named

if TYPE_CHECKING:
    from devices.models import Device

logger = logging.getLogger(__name__)

METHOD = "local"


class LocalFileError(CollectionError):
    """The file cannot be backed up; the message starts with `local:` and names the file."""

    def __init__(self, message: str) -> None:
        super().__init__(f"local: {message}")


def resolve_in_root(root: str | Path, name: str) -> Path:
    """The real path of `name` (relative to `root`, or absolute), refused unless it lies
    strictly inside `root` once symlinks and `..` are resolved."""
    name = name.strip()
    if not name:
        raise LocalFileError(
            "no file named: set the device's backup command to a file under the local root"
        )
    if "\x00" in name:
        raise LocalFileError(f"invalid file name {name!r}")
    real_root = os.path.realpath(root)
    if not os.path.isdir(real_root):
        raise LocalFileError(
            f"the local root {real_root} is not a directory (set DEVICEVAULT_LOCAL_ROOT)"
        )
    real = os.path.realpath(os.path.join(real_root, name))
    # Judged on the resolved path only, before anything is opened, so a refusal says nothing
    # about whether a file outside the root exists.
    if real == real_root or os.path.commonpath([real_root, real]) != real_root:
        raise LocalFileError(f"{name} is outside the local root {real_root}: refused")
    return Path(real)


def read_config_file(path: Path, *, name: str, max_bytes: int) -> str:
    """The UTF-8 text of the regular file at `path` (already resolved), at most `max_bytes`;
    LocalFileError naming `name` otherwise."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise LocalFileError(f"file not found: {name} (in {path.parent})") from None
    except PermissionError:
        raise LocalFileError(f"permission denied: {name} cannot be read by the worker") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a symlink since it was resolved
            raise LocalFileError(f"{name} is a symbolic link now: refused") from None
        raise LocalFileError(f"cannot open {name}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LocalFileError(f"not a regular file: {name}")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise LocalFileError(
            f"{name} is larger than collection.max_config_bytes ({max_bytes} bytes): "
            "nothing stored"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LocalFileError(
            f"{name} is not UTF-8 text (invalid byte at offset {exc.start})"
        ) from None


def collect_local_file(device: Device) -> Collected:
    """Back up the file named by `device.backup_command` (the `local` backup method)."""
    name = device.backup_command.strip()
    started = time.monotonic()
    path = resolve_in_root(settings.LOCAL_COLLECT_ROOT, name)
    raw = read_config_file(
        path, name=name, max_bytes=settings.DEVICEVAULT.collection.max_config_bytes
    )
    if not normalize(raw).strip():
        raise LocalFileError(f"file is empty: {name}")
    # A platform, when set, checks and cleans the text as it would a command's output.
    text = (
        platform_named(device.platform, device=device.name).clean(raw, command=name)
        if device.platform else normalize(raw)
    )
    logger.info(
        "local collected: device=%s bytes=%d seconds=%.3f",
        device.pk, len(text.encode()), time.monotonic() - started,
    )
    return Collected(text=text)


register(METHOD, collect_local_file)
