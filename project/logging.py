"""Log formatting shared by web, worker and beat: one line per event, key=value or JSON.

`DEVICEVAULT_LOG_FORMAT=text` (the default) gives logfmt, as Go's slog text handler writes it:

    ts=2027-10-01T02:00:00.123+00:00 level=INFO logger=beat msg="fan-out: schedule=3 ..."

`DEVICEVAULT_LOG_FORMAT=json` gives one JSON object per line with the same keys (`message`
instead of `msg`). Fields passed with `extra=` follow (in text, only plain values); a
traceback is one escaped field (`exc`), never extra lines.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_NESTED = (dict, list, tuple, set)
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value for key, value in vars(record).items()
        if key not in _STANDARD and not key.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, any `extra=` fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(_extras(record))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str)


def logfmt_value(value: Any) -> str:
    """A value as logfmt writes it: bare when it can be, else double-quoted and escaped."""
    text = value if isinstance(value, str) else str(value)
    if text and not any(c in text for c in ' ="\\') and text.isprintable():
        return text
    return '"' + text.translate(_ESCAPES) + '"'


class KeyValueFormatter(logging.Formatter):
    """One logfmt line per event: ts, level, logger, msg, any `extra=` fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        pairs: list[tuple[str, Any]] = [
            ("ts", _timestamp(record)),
            ("level", record.levelname),
            ("logger", record.name),
            ("msg", record.getMessage()),
            # Nested extras (Celery's `data`, which repeats its message's fields) stay out of
            # a one-line text format; the JSON format carries them.
            *((k, v) for k, v in _extras(record).items() if not isinstance(v, _NESTED)),
        ]
        if record.exc_info:
            pairs.append(("exc", self.formatException(record.exc_info)))
        if record.stack_info:
            pairs.append(("stack", self.formatStack(record.stack_info)))
        return " ".join(f"{key}={logfmt_value(value)}" for key, value in pairs)
