"""Fixtures of the alerts tests: channels, rules, results, and real local receivers (an SMTP
server and an HTTP server on free loopback ports, started by the test)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Receiver:
    """A webhook receiver: answers each POST with the next status of `statuses` (then 200)
    and keeps every request (`requests`: body bytes, lower-cased headers, status)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    code = receiver.statuses.pop(0) if receiver.statuses else 200
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append({"body": body, "headers": headers,
                                              "status": code})
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[dict[str, Any]]:
        """The JSON bodies answered with a 2xx status."""
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests if r["status"] < 300]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


class Mailbox:
    """Messages an aiosmtpd server received: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Mailbox]:
    """A real SMTP server on a free loopback port; Django's SMTP backend sends to it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield mailbox
    controller.stop()


@pytest.fixture
def make_channel(db: None) -> Callable[..., Any]:
    from alerts.services import channel_save

    counter = iter(range(1, 1_000_000))

    def make(*, kind: str = "webhook", target: str = "http://127.0.0.1:9/hook",
             secret: str | None = None, **fields: Any) -> Any:
        fields.setdefault("name", f"Channel {next(counter)}")
        return channel_save(kind=kind, target=target, secret=secret, **fields)

    return make


@pytest.fixture
def make_rule(db: None) -> Callable[..., Any]:
    from alerts.services import rule_save

    def make(*, owner: Any, channel: Any, events: list[str], **fields: Any) -> Any:
        fields.setdefault("name", f"Rule of {owner.username}")
        return rule_save(owner=owner, channel=channel, events=events, **fields)

    return make


@pytest.fixture
def finish(db: None) -> Callable[..., list[Any]]:
    """`finish(devices, status, schedule=..., scheduled_for=..., finished_at=...)`: one
    final result per device for one occurrence."""
    from devices.models import DeviceBackupResult

    def make(devices: list[Any], status: str, *, schedule: Any = None,
             scheduled_for: datetime, finished_at: datetime | None = None,
             error: str = "") -> list[Any]:
        return DeviceBackupResult.objects.bulk_create(
            DeviceBackupResult(
                device=d, schedule=schedule, schedule_name=schedule.name if schedule else "",
                scheduled_for=scheduled_for, status=status,
                finished_at=finished_at or scheduled_for + timedelta(minutes=1),
                error=error or ("timeout" if status == "failed" else ""),
            )
            for d in devices
        )

    return make


@pytest.fixture
def collect_sent() -> Callable[..., list[int]]:
    """A `send` for evaluate() that only records the ids (nothing is delivered)."""
    sent: list[int] = []

    def send(ids: list[int]) -> None:
        sent.extend(ids)

    send.sent = sent  # type: ignore[attr-defined]
    return send
