"""RabbitMQ for tests: a private virtual host per test session, a Celery app publishing to it,
and ways to read what its queues hold.

RabbitMQ must answer on 127.0.0.1:5672 (guest/guest), or `DEVICEVAULT_TEST_AMQP_URL` names
another one (loopback only); the fixtures skip the test when it does not answer, and only
then. The session's virtual host is made with `rabbitmqctl` where this machine can run it
(the CI's RabbitMQ is local); elsewhere the URL's own virtual host is used, and each test
deletes the queues it used either way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from kombu import Connection

BASE_URL = os.environ.get("DEVICEVAULT_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
RABBITMQCTL_TIMEOUT = 30  # seconds; each call starts an Erlang node


def rabbitmq_answers(url: str = BASE_URL) -> bool:
    """Whether a RabbitMQ accepts a connection at `url` within two seconds."""
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:  # noqa: BLE001 - anything means "not there"
        return False


def _rabbitmqctl(*args: str) -> bool:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    try:
        done = subprocess.run([ctl, *args], capture_output=True, timeout=RABBITMQCTL_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _with_vhost(url: str, vhost: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}/{quote(vhost, safe='')}"


@pytest.fixture(scope="session")
def amqp_session_url() -> Iterator[str]:
    """A RabbitMQ URL on a virtual host of this test session (deleted afterwards)."""
    if not rabbitmq_answers():
        pytest.skip(f"RabbitMQ does not answer at {BASE_URL.split('@')[-1]}")
    user = BASE_URL.split("://", 1)[1].split(":", 1)[0] or "guest"
    vhost = f"devicevault-test-{uuid.uuid4().hex[:12]}"
    if _rabbitmqctl("add_vhost", vhost):
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        url = _with_vhost(BASE_URL, vhost)
        try:
            yield url if rabbitmq_answers(url) else BASE_URL
        finally:
            _rabbitmqctl("delete_vhost", vhost)
    else:
        yield BASE_URL


def make_broker_app(url: str) -> Any:
    """A Celery app set up like `project.celery:app` (the same Django settings), publishing
    to the broker at `url` (RabbitMQ or Redis) with the settings the project uses for it."""
    from celery import Celery
    from django.conf import settings

    from devices.dispatch.queues import install_collection_queues
    from project.broker import celery_broker_settings

    app = Celery("devicevault", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=url,
                    **celery_broker_settings(url, queue_type=settings.AMQP_QUEUE_TYPE))
    install_collection_queues(app)
    return app


@dataclass
class Rabbit:
    """This test's RabbitMQ: its URL, a Celery app on it and the queues to delete afterwards."""

    url: str
    app: Any
    queues: set[str] = field(default_factory=lambda: {"collect.default"})

    def connection(self) -> Connection:
        return Connection(self.url, connect_timeout=5)

    def depth(self, name: str) -> int:
        """Messages ready in queue `name` (a passive declare); 0 when there is no such queue."""
        from amqp.exceptions import NotFound

        with self.connection() as conn:
            try:
                return int(conn.default_channel.queue_declare(name, passive=True).message_count)
            except NotFound:
                return 0

    def payloads(self, name: str) -> list[dict[str, Any]]:
        """Take every message out of queue `name`; the JSON argument of each, in order."""
        out = []
        with self.connection() as conn:
            channel = conn.connection.channel()  # py-amqp's own channel: raw messages
            while (message := channel.basic_get(name, no_ack=True)) is not None:
                assert message.headers["task"] == "device.collect"
                assert message.properties["content_type"] == "application/json"
                args, _kwargs, _embed = json.loads(message.body)
                out.append(json.loads(args[0]))
        return out

    def declared_alike(self, name: str, *, queue_type: str) -> bool:
        """Whether queue `name` exists as a durable queue of `queue_type` ("quorum" or
        "classic"): RabbitMQ accepts a declaration only when it is equivalent (else
        PRECONDITION_FAILED)."""
        from amqp.exceptions import PreconditionFailed

        with self.connection() as conn:
            channel = conn.connection.channel()
            try:
                channel.queue_declare(name, durable=True, auto_delete=False,
                                      arguments={"x-queue-type": queue_type})
            except PreconditionFailed:
                return False
            return True

    def delete_queues(self) -> None:
        with self.connection() as conn:
            for name in sorted(self.queues):
                channel = conn.connection.channel()
                try:
                    channel.queue_delete(name)
                except Exception:  # noqa: BLE001 - a queue never declared, or already gone
                    continue
                channel.close()


@pytest.fixture
def rabbit(amqp_session_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rabbit]:
    """RabbitMQ as this test's broker: in this process `project.celery.app` is replaced by an
    app on RabbitMQ (the fan-out publishes through it); child processes get `rabbit.url` as
    `CELERY_BROKER_URL`. Add the queues a test uses to `rabbit.queues`: they are deleted."""
    import project.celery

    app = make_broker_app(amqp_session_url)
    monkeypatch.setattr(project.celery, "app", app)
    rabbit = Rabbit(url=amqp_session_url, app=app)
    rabbit.delete_queues()  # a queue left over by an interrupted run
    yield rabbit
    rabbit.queues |= {name for name in app.amqp.queues if name.startswith("collect.")}
    rabbit.delete_queues()
    app.close()
