"""Structured logs: one line per event, logfmt by default or JSON, the same in web, worker
and beat (Celery's processes apply Django's LOGGING through project.celery)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from project.logging import JsonFormatter, KeyValueFormatter, logfmt_value

ROOT = Path(__file__).resolve().parents[2]


def emit(formatter: logging.Formatter, message: str, *args: Any, exc: bool = False,
         **extra: Any) -> str:
    record = logging.LogRecord("beat", logging.WARNING, __file__, 1, message, args, None)
    if exc:
        try:
            raise RuntimeError("boom\nsecond line")
        except RuntimeError:
            record.exc_info = sys.exc_info()
    record.__dict__.update(extra)
    return formatter.format(record)


def test_json_formatter_writes_one_object_per_line_with_ts_level_logger_message_and_extras(
) -> None:
    line = emit(JsonFormatter(), "fan-out: schedule=%s rows=%d", 3, 12, exc=True,
                schedule=3, occurrence="2027-10-01T02:00:00Z")
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "WARNING"
    assert data["logger"] == "beat"
    assert data["message"] == "fan-out: schedule=3 rows=12"
    assert data["schedule"] == 3
    assert data["occurrence"] == "2027-10-01T02:00:00Z"
    assert data["ts"].endswith("+00:00")
    assert "RuntimeError: boom" in data["exc"]


def test_text_formatter_writes_one_logfmt_line_with_the_message_quoted() -> None:
    line = emit(KeyValueFormatter(), "leading: pid=%s", 42, exc=True, schedule=3,
                note='say "hi"', data={"args": "repeats the message"})
    assert "\n" not in line
    assert " level=WARNING logger=beat msg=\"leading: pid=42\" schedule=3 " in line
    assert 'note="say \\"hi\\""' in line
    assert "exc=\"Traceback (most recent call last):\\n" in line
    assert line.startswith("ts=")
    assert "data=" not in line  # nested extras only in JSON


@pytest.mark.parametrize(
    ("value", "written"),
    [("plain", "plain"), ("", '""'), ("two words", '"two words"'), ("a=b", '"a=b"'),
     ("tab\there", '"tab\\there"'), ("back\\slash", '"back\\\\slash"'), (None, "None"),
     (1.5, "1.5")],
)
def test_logfmt_values_are_bare_only_when_unambiguous(value: Any, written: str) -> None:
    assert logfmt_value(value) == written


def test_an_unknown_log_format_stops_every_entry_point_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DEVICEVAULT_LOG_FORMAT": "xml", "DEVICEVAULT_VAR_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "configuration error: environment: DEVICEVAULT_LOG_FORMAT: expected text or json, "
        "got 'xml'"
    ]


def json_lines(log: str) -> list[dict[str, Any]]:
    """Every log line of a process in JSON mode (Celery's start-up banner is not logging)."""
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


@pytest.mark.processes
@pytest.mark.timeout(120)
def test_a_real_beat_in_json_mode_logs_parseable_json_lines_including_leading(
    procs: Any,
) -> None:
    beat = procs.beat(DEVICEVAULT_LOG_FORMAT="json")
    beat.wait_for(r"leading: pid=")
    lines = json_lines(beat.log())
    leading = [line for line in lines if line["message"].startswith("leading: pid=")]
    assert len(leading) == 1
    assert leading[0]["level"] == "INFO"
    assert leading[0]["logger"] == "beat"
    assert {"ts", "level", "logger", "message"} <= set(leading[0])
    assert any(line["message"].startswith("lock acquired") for line in lines)
    # Celery's own loggers go through the same handler, not Celery's default format.
    assert any(line["logger"].startswith("celery") for line in lines)
    assert beat.stop() == 0
    stopped = json_lines(beat.log())
    assert any(line["message"].startswith("signal 15") for line in stopped)


@pytest.mark.processes
@pytest.mark.timeout(120)
def test_a_real_beat_logs_logfmt_by_default_and_the_command_line_level_still_counts(
    procs: Any,
) -> None:
    # DEVICEVAULT_LOG_LEVEL says WARNING, `--loglevel info` (procs.beat passes it) says more.
    beat = procs.beat(DEVICEVAULT_LOG_LEVEL="WARNING")
    line = beat.wait_for(r"(?m)^ts=\S+ level=INFO logger=beat msg=\"leading: pid=\d+[^\n]*")
    assert line.group(0).endswith('"')


@pytest.mark.processes
@pytest.mark.timeout(120)
def test_a_real_worker_in_json_mode_logs_celery_lines_as_json(procs: Any) -> None:
    worker = procs.worker(DEVICEVAULT_LOG_FORMAT="json")
    worker.wait_for(r"\"message\": \"[^\"]*ready\.")
    ready = [line for line in json_lines(worker.log()) if line["message"].endswith("ready.")]
    assert ready and ready[0]["level"] == "INFO"
