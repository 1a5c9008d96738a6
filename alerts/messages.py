"""What a notification says: subject, text and the webhook body (DESIGN.md, "Alerts").

The webhook body is `{"event","fired_at","device":{"id","name"}|null,
"schedule":{"id","name"}|null,"result_id","message"}`; a summary of many devices has
`device` and `result_id` null and names the count and the first devices in `message`.
Slack and Teams presets wrap the same text in their incoming-webhook shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alerts.conditions import (
    BACKUP_FAILED,
    CONFIG_CHANGED,
    MISSED_WINDOW,
    RECOVERED,
    SCHEDULER_DOWN,
    STALE,
    Message,
)

FIRST_NAMES = 10  # devices named in a summary; the rest are counted

_WHAT = {
    BACKUP_FAILED: ("backup failed", "backups failed"),
    MISSED_WINDOW: ("backup missed its window", "backups missed their window"),
    STALE: ("no recent successful backup (stale)", "no recent successful backup (stale)"),
    CONFIG_CHANGED: ("configuration changed", "configurations changed"),
    RECOVERED: ("recovered", "recovered"),
}


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def names(message: Message) -> str:
    shown = ", ".join(d.name for d in message.devices[:FIRST_NAMES])
    more = len(message.devices) - FIRST_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def subject(message: Message) -> str:
    """A one-line subject: `[DeviceVault] backup_failed: Core-Router-01`."""
    if message.event == SCHEDULER_DOWN or (message.event == RECOVERED and not message.devices):
        what = "scheduler"
    elif len(message.devices) == 1:
        what = message.devices[0].name
    else:
        what = f"{len(message.devices)} devices"
    return f"[DeviceVault] {message.event}: {what}"


def text(message: Message) -> str:
    """The message: what happened, to which devices, for which occurrence."""
    if message.event == SCHEDULER_DOWN:
        return "The backup scheduler is down: no leader beat has ticked " + (
            message.detail or "recently") + "."
    if message.event == RECOVERED and not message.devices:
        return "The backup scheduler is up again: a leader beat ticks."
    count = len(message.devices)
    single, plural = _WHAT.get(message.event, (message.event, message.event))
    if count == 1:
        line = f"{message.devices[0].name}: {single}"
    else:
        line = f"{count} devices: {plural}: {names(message)}"
    if message.occurrence is not None:
        schedule = message.occurrence.schedule_name or "run now"
        line += f" ({schedule}, {iso(message.occurrence.scheduled_for)})"
    if message.detail:
        line += f": {message.detail}"
    return line + "."


def payload(message: Message, *, fired_at: datetime) -> dict[str, Any]:
    """The webhook body of DESIGN.md."""
    single = message.devices[0] if len(message.devices) == 1 else None
    occurrence = message.occurrence
    return {
        "event": message.event,
        "fired_at": iso(fired_at),
        "device": None if single is None else {"id": single.id, "name": single.name},
        "schedule": None if occurrence is None or occurrence.schedule_id is None else {
            "id": occurrence.schedule_id, "name": occurrence.schedule_name,
        },
        "result_id": message.result_id if single is not None else None,
        "message": text(message),
    }


def shaped(body: dict[str, Any], *, preset: str, subject_line: str) -> dict[str, Any]:
    """The JSON a webhook of `preset` receives: the body itself (`generic`), or a Slack or
    Microsoft Teams incoming-webhook message carrying its text."""
    if preset == "slack":
        return {"text": f"*{subject_line}*\n{body['message']}"}
    if preset == "teams":
        return {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                "summary": subject_line, "title": subject_line, "text": body["message"]}
    return body
