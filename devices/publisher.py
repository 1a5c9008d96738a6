"""Publishing `device.collect` messages in bulk.

Celery's `send_task` costs a broker round trip and a full message build per task (about
2,000 tasks/s here). With a Redis broker this publisher asks Celery to build and send the
first message of each queue the ordinary way (which also declares the queue), copies that
message as the template for the rest, and pushes them through a redis-py pipeline on the
broker connection, a batch per round trip. The queue always comes from Celery's routes.
Any other broker gets Celery's producer, one reused connection for the whole batch.
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from collections.abc import Iterable
from typing import Any

from celery.utils.saferepr import saferepr

from devices.routing import COLLECT_TASK


class CollectPublisher:
    """Use as a context manager around one or more `publish()` calls."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._routes: dict[str | None, str] = {}
        self._templates: dict[str, _Template] = {}
        self._producer_cm: Any = None
        self.producer: Any = None

    def __enter__(self) -> CollectPublisher:
        self._producer_cm = self.app.producer_or_acquire()
        self.producer = self._producer_cm.__enter__()
        transport = self.producer.connection.transport
        self._redis = getattr(transport, "driver_type", "") == "redis"
        return self

    def __exit__(self, *exc: object) -> None:
        self._producer_cm.__exit__(*exc)

    def _queue(self, payload: str, slug: str | None) -> str:
        if slug not in self._routes:
            options = self.app.amqp.router.route({}, COLLECT_TASK, (payload,), {})
            queue = options["queue"]
            self._routes[slug] = queue.name if hasattr(queue, "name") else str(queue)
        return self._routes[slug]

    def publish(self, items: Iterable[tuple[str, str | None]]) -> int:
        """Publish (JSON payload, collection group slug) pairs; returns how many."""
        if not self._redis:
            count = 0
            for payload, _slug in items:
                self.app.send_task(COLLECT_TASK, args=[payload], producer=self.producer)
                count += 1
            return count
        by_queue: dict[str, list[str]] = {}
        for payload, slug in items:
            by_queue.setdefault(self._queue(payload, slug), []).append(payload)
        client = self.producer.channel.client
        pipe = client.pipeline(transaction=False)
        count = 0
        for queue, payloads in by_queue.items():
            if queue not in self._templates:
                # The first message goes the ordinary way, which declares the queue.
                self.app.send_task(COLLECT_TASK, args=[payloads[0]], producer=self.producer)
                self._templates[queue] = self._template(queue, payloads[0])
                payloads = payloads[1:]
                count += 1
            if payloads:
                template = self._templates[queue]
                pipe.lpush(queue, *(self._envelope(template, p) for p in payloads))
                count += len(payloads)
        pipe.execute()
        return count

    def _template(self, queue: str, payload: str) -> _Template:
        """Celery's own message for the task, in the kombu Redis transport's envelope."""
        task_id = str(uuid.uuid4())
        # The arguments send_task gives as_task_v2 (devices/tests/test_publisher_contract.py
        # holds the two against each other): replies go to this app, and ignore_result=None
        # leaves the decision to the task instead of forcing results to be stored.
        message = self.app.amqp.as_task_v2(
            task_id, COLLECT_TASK, args=[payload], kwargs={},
            reply_to=self.app.thread_oid, ignore_result=None,
        )
        envelope = {
            "body": _BODY,
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {**message.headers, "id": _ID, "root_id": _ID, "argsrepr": _ARGSREPR},
            "properties": {
                **message.properties,
                "correlation_id": _ID,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": _TAG,
            },
        }
        return _Template(json.dumps(envelope), argsrepr_maxsize=self.app.amqp.argsrepr_maxsize,
                         argsrepr_maxlevels=self.app.conf.task_repr_maxlevels)

    @staticmethod
    def _envelope(template: _Template, payload: str) -> str:
        return template.fill(payload)


# Placeholders in the serialized template, replaced per message by plain string joins: the
# envelope is serialized once per queue instead of three JSON encodings per message.
_ID, _TAG, _ARGSREPR, _BODY = "@@ID@@", "@@TAG@@", "@@ARGSREPR@@", "@@BODY@@"
_EMBED = json.dumps({"callbacks": None, "errbacks": None, "chain": None, "chord": None})


class _Template:
    """A serialized envelope split at its placeholders."""

    _MARKS = re.compile('"(' + "|".join(re.escape(m) for m in (_ID, _TAG, _ARGSREPR, _BODY)) + ')"')

    def __init__(self, serialized: str, *, argsrepr_maxsize: int, argsrepr_maxlevels: int) -> None:
        pieces = self._MARKS.split(serialized)  # text, mark, text, mark, ..., text
        self.texts = pieces[0::2]
        self.marks = pieces[1::2]
        self.argsrepr_maxsize = argsrepr_maxsize
        self.argsrepr_maxlevels = argsrepr_maxlevels

    def argsrepr(self, payload: str) -> str:
        """`saferepr([payload])`, Celery's `argsrepr` header. saferepr quotes a string without
        escaping its backslashes and cuts it at the size limit; the quick path below writes
        the same for a payload short enough not to be cut, five times faster."""
        if len(payload) < self.argsrepr_maxsize - 1:  # "[" counts against the limit
            return "['" + payload.replace("'", "\\'") + "']"
        return saferepr([payload], self.argsrepr_maxsize, maxlevels=self.argsrepr_maxlevels)

    def fill(self, payload: str) -> str:
        task_id, tag = _uuid4_pair()
        body = f"[[{json.dumps(payload)}], {{}}, {_EMBED}]"
        values = {
            _ID: task_id,
            _TAG: tag,
            _ARGSREPR: json.dumps(self.argsrepr(payload))[1:-1],
            _BODY: base64.b64encode(body.encode()).decode(),
        }
        out = [self.texts[0]]
        for mark, text in zip(self.marks, self.texts[1:], strict=True):
            out += ('"', values[mark], '"', text)
        return "".join(out)


def _uuid4_pair() -> tuple[str, str]:
    """Two random (version 4) UUIDs written as str(uuid.uuid4()) writes them, from one urandom
    call: uuid.UUID's constructor and __str__ cost more than the randomness itself."""
    raw = bytearray(os.urandom(32))
    out = []
    for at in (0, 16):
        raw[at + 6] = (raw[at + 6] & 0x0F) | 0x40  # version 4
        raw[at + 8] = (raw[at + 8] & 0x3F) | 0x80  # the RFC 4122 variant
        h = raw[at:at + 16].hex()
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out[0], out[1]
