"""Device platforms: the backup command of each, and the checks and clean-up of its output.

Pure functions, no I/O: a collector runs the command and hands the output to `clean()`, which
either returns the configuration text to store or raises CollectionError saying what is
wrong with it (empty, refused by the device, truncated).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from devices.collection.collectors import CollectionError

DEFAULT_LINUX_COMMAND = "cat /etc/devicevault/running-config"


class OutputError(CollectionError):
    """The command ran but its output is not a whole configuration."""


@dataclass(frozen=True)
class Platform:
    """How to back up one kind of device."""

    name: str
    netmiko_device_type: str
    default_command: str
    # Ask the shell for the command's exit status (POSIX shells only).
    check_exit_status: bool
    check: Callable[[str, str], str]

    def clean(self, output: str, *, command: str) -> str:
        """The configuration to store, from the command's raw output; OutputError if it is
        empty, an error message of the device, or cut short."""
        text = normalize(output)
        if not text.strip():
            raise OutputError(f"empty output: `{command}` printed nothing")
        return self.check(text, command)


def normalize(output: str) -> str:
    """One newline style, no NUL bytes, no leading blank lines, exactly one final newline."""
    text = output.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def _first_lines(text: str, count: int = 5) -> list[str]:
    return [line for line in text.split("\n") if line.strip()][:count]


def _excerpt(line: str) -> str:
    line = line.strip()
    return line if len(line) <= 200 else line[:197] + "..."


# -- Cisco IOS / IOS-XE --------------------------------------------------------------------

# Lines that change without the configuration changing (as Oxidized drops them too).
_IOS_VOLATILE = re.compile(
    r"^(Building configuration\.\.\.|Current configuration ?: \d+ bytes"
    r"|! Last configuration change at .*|! NVRAM config last updated at .*"
    r"|! No configuration change since last restart|ntp clock-period \d+)$"
)
_IOS_WHOLE_CONFIG = re.compile(r"^\s*(sh|sho|show)\s+(run|runn|runni|runnin|running-config"
                               r"|start|startu|startup|startup-config)\S*\s*$", re.I)


def _check_ios(text: str, command: str) -> str:
    for line in _first_lines(text):
        if line.startswith("% "):
            raise OutputError(f"the device refused `{command}`: {_excerpt(line)}")
    lines = [line for line in text.split("\n") if not _IOS_VOLATILE.match(line)]
    cleaned = normalize("\n".join(lines))
    if not cleaned.strip():
        raise OutputError(f"empty output: `{command}` printed no configuration")
    # A whole configuration ends with "end"; without it the output was cut short. Commands
    # that print something else (a section, a filter) cannot be checked this way.
    if _IOS_WHOLE_CONFIG.match(command):
        last = cleaned.rstrip("\n").rsplit("\n", 1)[-1].strip()
        if last != "end":
            count = cleaned.count("\n")
            raise OutputError(
                f"truncated output: the configuration does not end with `end` ({count} lines "
                f"received, the last: {_excerpt(last)!r})"
            )
    return cleaned


# -- MikroTik RouterOS ---------------------------------------------------------------------

_ROS_EXPORT = re.compile(r"^\s*/?export\b")
_ROS_HEADER = re.compile(r"^# (?:\S+ \S+ )?by (RouterOS .*)$")
_ROS_ERRORS = re.compile(
    r"^(bad command name|syntax error|expected end of command|failure:|no such item|"
    r"input does not match any value)", re.I
)


def _check_routeros(text: str, command: str) -> str:
    for line in _first_lines(text):
        if _ROS_ERRORS.match(line.strip()):
            raise OutputError(f"the device refused `{command}`: {_excerpt(line)}")
    lines = text.rstrip("\n").split("\n")
    # The export starts with "# <date> <time> by RouterOS <version>": the date changes on every
    # export, so it is dropped and the version kept.
    for index, line in enumerate(lines[:3]):
        match = _ROS_HEADER.match(line)
        if match:
            lines[index] = f"# by {match.group(1)}"
            break
    else:
        if _ROS_EXPORT.match(command):
            raise OutputError(
                f"not a RouterOS export: `{command}` printed no '# ... by RouterOS' header "
                f"(first line: {_excerpt(lines[0])!r})"
            )
    # A line ending in a backslash continues on the next one: last, it was cut short.
    if lines[-1].endswith("\\"):
        raise OutputError(
            f"truncated output: the export ends inside a continued line ({len(lines)} lines "
            "received)"
        )
    return normalize("\n".join(lines))


# -- Linux ---------------------------------------------------------------------------------


def _check_linux(text: str, command: str) -> str:
    return text


PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            name="cisco_ios", netmiko_device_type="cisco_ios",
            default_command="show running-config", check_exit_status=False, check=_check_ios,
        ),
        Platform(
            name="mikrotik_routeros", netmiko_device_type="mikrotik_routeros",
            default_command="/export", check_exit_status=False, check=_check_routeros,
        ),
        Platform(
            name="linux", netmiko_device_type="linux",
            default_command=DEFAULT_LINUX_COMMAND, check_exit_status=True, check=_check_linux,
        ),
    )
}


def platform_named(name: str, *, device: str) -> Platform:
    """The platform called `name`, or CollectionError naming the device."""
    if not name:
        raise CollectionError(f"device {device} has no platform: set it (e.g. cisco_ios)")
    try:
        return PLATFORMS[name]
    except KeyError:
        raise CollectionError(f"platform {name!r} of device {device} is not supported") from None
