"""Publishing `device.collect` messages in bulk.

Celery's `send_task` costs a broker round trip and a full message build per task (about
2,000 tasks/s here). With a Redis broker this publisher asks Celery to build and send the
first message of each queue the ordinary way (which also declares the queue), copies that
message as the template for the rest, and pushes them through a redis-py pipeline on the
broker connection, a batch per round trip. The queue always comes from Celery's routes.
Each message carries its priority (schedules/policy.py; devices/dispatch/queues.py maps it to
the broker's order): on Redis it goes to kombu's list for that queue and priority step, the
list kombu itself would push it to, and a template is kept per queue and priority.

RabbitMQ gets Celery's own messages on one connection for the whole publisher, its channel
in confirm mode: the first message of each queue goes through `send_task` (which declares the
queue) and is kept as the template of the rest, copies with their own id, argsrepr and body
(devices/tests/test_fanout_rabbitmq.py holds them against Celery's). A batch is published
without waiting, then the broker's confirms of the whole batch are awaited, so that a batch
counts as published only once RabbitMQ has it (on a quorum queue: on a majority of its
replicas). A negative confirm, a
timeout or a lost connection raises: the caller does not mark the rows published, and they
are published again later (a duplicate message changes nothing: the task claims its row).
Confirming message by message (`confirm_publish`, which the other publishers of the
application use) would cost a round trip, and on a quorum queue a disk sync, per message.
Any other broker gets Celery's producer, one reused connection for the whole batch.

Fencing (DESIGN.md, "Fencing"): given the leader's `Fence`, a batch is published only while
the lock key still holds the leader's value. When the broker is the lock's Redis server and
database, one Lua script compares the value and pushes the whole batch in one atomic step.
Otherwise (another Redis, RabbitMQ) a synchronous compare-and-extend of the lock runs right
before the batch. Behind Redis Sentinel (kombu's `sentinel://` transport, a Redis transport
too) the broker is the lock's server when both ask the same Sentinels for the same master
name and database. Either way a leader whose key was deleted, expired or taken publishes
nothing more and `FenceLost` is raised.
"""

from __future__ import annotations

import binascii
import json
import os
import random
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from celery.utils.saferepr import saferepr
from redis.exceptions import NoScriptError

from devices.dispatch.queues import broker_priority
from devices.dispatch.routing import COLLECT_TASK

Item = tuple[str, str | None, int]  # JSON payload, collection group slug, priority 0-9


class FenceLost(Exception):
    """The leader lock is no longer ours: nothing of the batch was published."""


class PublishNotConfirmed(Exception):
    """RabbitMQ refused (nacked) or did not confirm in time a message of the batch."""


CONFIRM_TIMEOUT = 30.0  # seconds a batch may wait for RabbitMQ's confirms


@dataclass(frozen=True, kw_only=True)
class Fence:
    """The leader lock a batch is published under.

    `client` is the lock's Redis, `key` and `value` the lock as the leader wrote it,
    `extend` a synchronous compare-and-extend (true when the lock was still ours) and
    `lost` is called when a batch finds the lock gone.
    """

    client: Any
    key: str
    value: str
    extend: Callable[[], bool]
    lost: Callable[[], None]

    def same_server(self, other: Any) -> bool:
        """Whether `other` (a redis-py client) talks to the lock's server and database."""
        return _where(self.client) == _where(other)


def _where(client: Any) -> tuple[Any, ...]:
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    db = int(kwargs.get("db") or 0)
    service = getattr(pool, "service_name", None)
    if service is not None:
        # A Sentinel-managed pool has no host or port: its server is whichever master the
        # Sentinels name for the service. The same service, Sentinels and database is the same
        # server; anything else (a plain client of that master's address included) is not, and
        # falls back to the compare-and-extend, which is always safe.
        sentinels = frozenset(
            (s.connection_pool.connection_kwargs.get("host"),
             s.connection_pool.connection_kwargs.get("port"))
            for s in pool.sentinel_manager.sentinels
        )
        return ("sentinel", service, sentinels, db)
    return (kwargs.get("host"), kwargs.get("port"), kwargs.get("path"), db)


# KEYS[1] is the lock, KEYS[2..] the queues; ARGV[1] the lock value, ARGV[2..n+1] how many
# messages go to each queue, then the messages. All or nothing: the value is checked first.
_FENCED_PUSH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local at = #KEYS + 1
for q = 2, #KEYS do
  local left = tonumber(ARGV[q])
  while left > 0 do
    local n = math.min(left, 1000)
    redis.call('LPUSH', KEYS[q], unpack(ARGV, at, at + n - 1))
    at = at + n
    left = left - n
  end
end
return at - #KEYS - 1
"""


class CollectPublisher:
    """Use as a context manager around one or more `publish()` calls."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._routes: dict[str | None, str] = {}
        self._templates: dict[tuple[str, int], _Template] = {}
        self._amqp_templates: dict[tuple[str, int], _AmqpTemplate] = {}
        self._producer_cm: Any = None
        self.producer: Any = None
        self._fenced_push: Any = None
        self._priorities: dict[int, int] = {}

    def _priority(self, priority: int) -> int:
        """`broker_priority`, once per priority and publisher: it reads the app's broker URL
        through Celery's settings, which cost more than the rest of a message's envelope."""
        step = self._priorities.get(priority)
        if step is None:
            step = self._priorities[priority] = broker_priority(self.app, priority)
        return step

    def __enter__(self) -> CollectPublisher:
        self._confirmed: _ConfirmedChannel | None = None
        driver = getattr(self.app.connection_for_write().transport, "driver_type", "")
        if driver == "amqp":
            self._producer_cm = self._confirmed = _ConfirmedChannel(self.app)
        else:
            self._producer_cm = self.app.producer_or_acquire()
        self.producer = self._producer_cm.__enter__()
        self._redis = driver == "redis"
        return self

    def __exit__(self, *exc: object) -> None:
        self._producer_cm.__exit__(*exc)

    def _queue(self, payload: str, slug: str | None) -> str:
        if slug not in self._routes:
            options = self.app.amqp.router.route({}, COLLECT_TASK, (payload,), {})
            queue = options["queue"]
            self._routes[slug] = queue.name if hasattr(queue, "name") else str(queue)
        return self._routes[slug]

    def publish(self, items: Iterable[Item], *, fence: Fence | None = None) -> int:
        """Publish (JSON payload, collection group slug, priority 0-9) items; returns how
        many.

        With a `fence`, all of them or none: `FenceLost` when the lock is no longer ours.
        """
        return self.prepare(items, fence=fence)()

    def prepare(self, items: Iterable[Item], *, fence: Fence | None = None) -> Callable[[], int]:
        """`publish` in two steps: this builds the batch's messages and returns the call that
        sends them (returning how many), so that the sending of one batch (mostly waiting for
        the broker) can run in another thread while the next is built (fanout.publish_rows).

        On Redis, the first message of a new queue and priority goes out here, through
        send_task, after the fence's synchronous check; the rest only in the returned call,
        atomically with the lock's check (the broker being the lock's Redis) or right after
        a compare-and-extend of the lock. Other brokers do everything in the returned call.
        """
        if self._confirmed is not None:
            confirmed, listed = self._confirmed, list(items)
            return lambda: self._send_confirmed(listed, fence, confirmed)
        if not self._redis:
            listed = list(items)
            return lambda: self._send_each(listed, fence)
        by_list: dict[tuple[str, int], list[str]] = {}
        lists: dict[tuple[str | None, int], list[str]] = {}  # the same, by slug and priority
        for payload, slug, priority in items:
            payloads = lists.get((slug, priority))
            if payloads is None:
                key = (self._queue(payload, slug), self._priority(priority))
                payloads = lists[slug, priority] = by_list.setdefault(key, [])
            payloads.append(payload)
        client = self.producer.channel.client
        atomic = fence is not None and fence.same_server(client)
        sent, envelopes = self._envelopes(by_list, fence)

        def send() -> int:
            if fence is not None and not atomic:
                self._extend(fence)
            if envelopes:
                self._push(client, envelopes, fence if atomic else None)
            return sent + sum(len(batch) for batch in envelopes.values())

        return send

    def _send_each(self, items: Iterable[Item], fence: Fence | None) -> int:
        """Any other broker: Celery's own send_task per message, after the fence's check."""
        self._extend(fence)
        count = 0
        for payload, _slug, priority in items:
            self.app.send_task(COLLECT_TASK, args=[payload], producer=self.producer,
                               priority=self._priority(priority))
            count += 1
        return count

    def _send_confirmed(
        self, items: Iterable[Item], fence: Fence | None, confirmed: _ConfirmedChannel,
    ) -> int:
        """RabbitMQ, after the fence's check: the first message of each queue and priority
        goes through Celery's send_task (which declares the queue), and is kept as the
        template of the rest, published as copies with their own id, argsrepr and body; then
        the broker's confirms of the whole batch are awaited."""
        if confirmed.broken:
            raise PublishNotConfirmed("an earlier batch of this publisher failed")
        self._extend(fence)
        channel = self.producer.channel
        count = 0
        try:
            for payload, slug, priority in items:
                key = (self._queue(payload, slug), self._priority(priority))
                template = self._amqp_templates.get(key)
                if template is None:
                    self._amqp_templates[key] = self._capture(channel, payload, key[1])
                else:
                    channel.basic_publish(template.message(payload),
                                          exchange=template.exchange,
                                          routing_key=template.routing_key)
                count += 1
            confirmed.wait_for_confirms(count)
        except BaseException:
            # The channel's delivery tags no longer match what was counted: no further batch.
            confirmed.broken = True
            raise
        return count

    def _capture(self, channel: Any, payload: str, priority: int) -> _AmqpTemplate:
        """send_task the ordinary way, keeping the message Celery built as a template."""
        sent: dict[str, Any] = {}
        publish = channel.basic_publish

        def keep(message: Any, exchange: str = "", routing_key: str = "", *args: Any,
                 **kwargs: Any) -> Any:
            sent.update(message=message, exchange=exchange, routing_key=routing_key)
            return publish(message, exchange, routing_key, *args, **kwargs)

        channel.basic_publish = keep
        try:
            # retry=False: a publish that fails raises instead of being sent again on another
            # connection, where this channel's confirms could not follow it.
            self.app.send_task(COLLECT_TASK, args=[payload], producer=self.producer,
                               retry=False, priority=priority)
        finally:
            channel.basic_publish = publish
        return _AmqpTemplate(sent["message"], exchange=sent["exchange"],
                             routing_key=sent["routing_key"],
                             argsrepr_maxsize=self.app.amqp.argsrepr_maxsize,
                             argsrepr_maxlevels=self.app.conf.task_repr_maxlevels)

    def _envelopes(
        self, by_list: dict[tuple[str, int], list[str]], fence: Fence | None
    ) -> tuple[int, dict[str, list[str]]]:
        """The messages of each (queue, broker priority) from its template; the first of
        this publisher goes the ordinary way, which declares the queue (after a synchronous
        check of the fence). Returns (messages sent that way, envelopes per Redis list: kombu's
        list of the queue and the priority's step)."""
        sent = 0
        envelopes: dict[str, list[str]] = {}
        for (queue, priority), payloads in by_list.items():
            if (queue, priority) not in self._templates:
                self._extend(fence)
                self.app.send_task(COLLECT_TASK, args=[payloads[0]], producer=self.producer,
                                   priority=priority)
                self._templates[queue, priority] = self._template(queue, priority, payloads[0])
                payloads = payloads[1:]
                sent += 1
            if payloads:
                template = self._templates[queue, priority]
                key = self.producer.channel._q_for_pri(queue, priority)
                envelopes.setdefault(key, []).extend(template.fill_many(payloads))
        return sent, envelopes

    def _push(
        self, client: Any, envelopes: dict[str, list[str]], atomic_fence: Fence | None
    ) -> None:
        """LPUSH every queue's envelopes: in one Lua script that first checks the lock value
        (`atomic_fence`, the broker being the lock's Redis), else in one pipeline."""
        if atomic_fence is None:
            pipe = client.pipeline(transaction=False)
            for queue, batch in envelopes.items():
                pipe.lpush(queue, *batch)
            pipe.execute()
            return
        queues = list(envelopes)
        if self._fenced_push is None:
            self._fenced_push = client.register_script(_FENCED_PUSH)
        pushed = _evalsha(
            client, self._fenced_push,
            [atomic_fence.key, *queues],
            [atomic_fence.value, *(str(len(envelopes[q])) for q in queues)],
            [e for q in queues for e in envelopes[q]],
        )
        if int(pushed) < 0:
            atomic_fence.lost()
            raise FenceLost("the lock key no longer holds our value")

    @staticmethod
    def _extend(fence: Fence | None) -> None:
        if fence is not None and not fence.extend():
            fence.lost()
            raise FenceLost("the lock could not be extended: it is no longer ours")

    def _template(self, queue: str, priority: int, payload: str) -> _Template:
        """Celery's own message for the task, in the kombu Redis transport's envelope."""
        task_id = str(uuid.uuid4())
        # The arguments send_task gives as_task_v2 (devices/tests/test_publisher_contract.py
        # holds the two against each other): replies go to this app, and ignore_result=None
        # leaves the decision to the task instead of forcing results to be stored.
        message = self.app.amqp.as_task_v2(
            task_id, COLLECT_TASK, args=[payload], kwargs={},
            reply_to=self.app.thread_oid, ignore_result=None, **self._time_limits(),
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
                "priority": priority,
                "body_encoding": "base64",
                "delivery_tag": _TAG,
            },
        }
        return _Template(json.dumps(envelope), argsrepr_maxsize=self.app.amqp.argsrepr_maxsize,
                         argsrepr_maxlevels=self.app.conf.task_repr_maxlevels)

    def _time_limits(self) -> dict[str, Any]:
        """The time limits send_task puts in the message: those of the task when this
        process has it registered (Celery reads its registry without finalizing the app)."""
        task = self.app._tasks.get(COLLECT_TASK)
        options = task._get_exec_options() if hasattr(task, "_get_exec_options") else {}
        return {"time_limit": options.get("time_limit"),
                "soft_time_limit": options.get("soft_time_limit")}


def _evalsha(client: Any, script: Any, keys: list[str], args: list[str],
             envelopes: list[str]) -> Any:
    """`script(keys=keys, args=[*args, *envelopes])` on a connection of `client`'s pool, the
    command written here in the Redis protocol in a few joins: redis-py's packer encodes and
    frames argument by argument, which a batch of 1,000 envelopes felt. The envelopes are
    ASCII (JSON with every string escaped to ASCII, base64, hex ids), so a character is a
    byte; anything else goes through redis-py's own call. Loads the script when the server
    does not know it (as redis-py's Script does); a connection that failed is dropped, and
    the error raised (nothing retries: the caller does not mark the batch published)."""
    if not all(e.isascii() for e in envelopes):
        return script(keys=keys, args=[*args, *envelopes])
    head = [b"EVALSHA", script.sha.encode(), str(len(keys)).encode(),
            *(k.encode() for k in keys), *(a.encode() for a in args)]
    framed = b"".join(b"$%d\r\n%b\r\n" % (len(part), part) for part in head)
    body = "".join([f"${len(e)}\r\n{e}\r\n" for e in envelopes]).encode()
    command = [b"*%d\r\n" % (len(head) + len(envelopes)) + framed, body]
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        connection.send_packed_command(command)
        try:
            return connection.read_response()
        except NoScriptError:
            client.script_load(script.script)
            connection.send_packed_command(command)
            return connection.read_response()
    except BaseException:
        connection.disconnect()  # a reply may still be on its way: never reuse it
        raise
    finally:
        pool.release(connection)


class _ConfirmedChannel:
    """A producer on its own RabbitMQ connection, its channel in confirm mode, that waits for
    the broker's confirms of a whole batch at once (a context manager, like
    `app.producer_or_acquire()`)."""

    def __init__(self, app: Any, timeout: float = CONFIRM_TIMEOUT) -> None:
        self.app = app
        self.timeout = timeout
        self.connection: Any = None
        self._published = 0  # the delivery tag of the last message sent on the channel
        self._through = 0  # every tag up to this one is confirmed
        self._singles: set[int] = set()  # tags confirmed one by one above _through
        self._nacked = 0
        self.broken = False  # a batch failed: the publisher sends nothing more

    def __enter__(self) -> Any:
        # This connection confirms batches itself: Celery's confirm_publish would wait for
        # each message.
        options = {**(self.app.conf.broker_transport_options or {}), "confirm_publish": False}
        self.connection = self.app.connection_for_write(transport_options=options)
        channel = self.connection.default_channel
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        return self.app.amqp.Producer(channel, auto_declare=False)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            self.connection.release()
        except Exception:
            if exc_type is None:  # else the error that ended the batch is the one to see
                raise

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._through = max(self._through, delivery_tag)
        else:
            self._singles.add(delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked += 1
        self._on_ack(delivery_tag, multiple)

    def _all_confirmed(self) -> bool:
        while self._through + 1 in self._singles:
            self._through += 1
            self._singles.discard(self._through)
        return self._through >= self._published

    def wait_for_confirms(self, sent: int) -> None:
        """Wait until RabbitMQ confirmed the `sent` messages published since the last call;
        PublishNotConfirmed when it nacked one or did not answer within the timeout."""
        import time

        self._published += sent
        deadline = time.monotonic() + self.timeout
        while not self._all_confirmed():
            left = deadline - time.monotonic()
            if left <= 0:
                raise PublishNotConfirmed(
                    f"{self._published - self._through} messages unconfirmed after "
                    f"{self.timeout:.0f}s"
                )
            try:
                self.connection.drain_events(timeout=min(left, 1.0))
            except TimeoutError:
                continue
        self._singles.clear()
        if self._nacked:
            nacked, self._nacked = self._nacked, 0
            raise PublishNotConfirmed(f"RabbitMQ refused {nacked} messages of the batch")


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
        # The same as one str.format pattern: {0} the id, {1} the delivery tag, {2} the
        # argsrepr, {3} the body (the texts' own braces doubled).
        fields = {_ID: '"{0}"', _TAG: '"{1}"', _ARGSREPR: '"{2}"', _BODY: '"{3}"'}
        pattern = [self.texts[0].replace("{", "{{").replace("}", "}}")]
        for mark, text in zip(self.marks, self.texts[1:], strict=True):
            pattern += (fields[mark], text.replace("{", "{{").replace("}", "}}"))
        self.pattern = "".join(pattern)
        self.argsrepr_maxsize = argsrepr_maxsize
        self.argsrepr_maxlevels = argsrepr_maxlevels

    def argsrepr(self, payload: str) -> str:
        return _argsrepr(payload, self.argsrepr_maxsize, self.argsrepr_maxlevels)

    def fill(self, payload: str) -> str:
        return self.fill_many([payload])[0]

    def fill_many(self, payloads: list[str]) -> list[str]:
        """The envelopes of `payloads`, in order: the template's texts joined with each
        message's ids, argsrepr and base64 body. The JSON escaping of a payload is done
        once (one C call) and serves both the body and the argsrepr header; the ids of the
        whole batch come from one urandom call."""
        ids = _uuid4_strings(2 * len(payloads))
        form = self.pattern.format
        quick = self.argsrepr_maxsize - 1  # "[" counts against saferepr's limit
        b64 = binascii.b2a_base64
        out = []
        for at, payload in enumerate(payloads):
            escaped = json_string(payload)  # "…": the payload as a JSON string (ASCII)
            if len(payload) < quick and "'" not in payload:
                # _argsrepr's quick path, "['" + payload + "']", as JSON string content
                argsrepr = "['" + escaped[1:-1] + "']"
            else:
                argsrepr = json_string(self.argsrepr(payload))[1:-1]
            body = b64(f"[[{escaped}], {{}}, {_EMBED}]".encode(), newline=False).decode()
            out.append(form(ids[2 * at], ids[2 * at + 1], argsrepr, body))
        return out


def _argsrepr(payload: str, maxsize: int, maxlevels: int) -> str:
    """`saferepr([payload])`, Celery's `argsrepr` header. saferepr quotes a string without
    escaping its backslashes and cuts it at the size limit; the quick path below writes
    the same for a payload short enough not to be cut, five times faster."""
    if len(payload) < maxsize - 1:  # "[" counts against the limit
        return "['" + payload.replace("'", "\\'") + "']"
    return saferepr([payload], maxsize, maxlevels=maxlevels)


# json.dumps of a str, with its default ensure_ascii: the quoted, escaped string, in one C call
# (also the fan-out's payload template's, devices/dispatch/fanout.py).
json_string = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _body(payload: str) -> bytes:
    """Celery's message body for `device.collect(payload)`: (args, kwargs, embed) in JSON."""
    return f"[[{json.dumps(payload)}], {{}}, {_EMBED}]".encode()


class _AmqpTemplate:
    """A message Celery built for a queue (py-amqp's), copied with another task's id,
    argsrepr and body: the same properties and headers, as Celery would send them."""

    def __init__(self, message: Any, *, exchange: str, routing_key: str, argsrepr_maxsize: int,
                 argsrepr_maxlevels: int) -> None:
        self.properties = dict(message.properties)
        self.headers = dict(self.properties.pop("application_headers"))
        self.exchange = exchange
        self.routing_key = routing_key
        self.argsrepr_maxsize = argsrepr_maxsize
        self.argsrepr_maxlevels = argsrepr_maxlevels

    def message(self, payload: str) -> Any:
        import amqp

        task_id = _uuid4_pair()[0]
        headers = {**self.headers, "id": task_id, "root_id": task_id,
                   "argsrepr": _argsrepr(payload, self.argsrepr_maxsize,
                                         self.argsrepr_maxlevels)}
        return amqp.Message(_body(payload), application_headers=headers,
                            **{**self.properties, "correlation_id": task_id})


def _uuid4_pair() -> tuple[str, str]:
    """Two random (version 4) UUIDs written as str(uuid.uuid4()) writes them."""
    first, second = _uuid4_strings(2)
    return first, second


# The hex digit that carries the RFC 4122 variant (10xx) from any random hex digit.
_VARIANT = {f"{n:x}": "89ab"[n & 3] for n in range(16)}


def _uuid4_strings(count: int) -> list[str]:
    """`count` random (version 4) UUIDs written as str(uuid.uuid4()) writes them, from one
    call of the process's id generator: uuid.UUID's constructor and __str__, and a urandom
    call per UUID, cost more than the randomness itself. 122 random bits each, as uuid4's:
    the version digit is "4", the variant digit keeps two random bits."""
    h = _IDS.randbytes(16 * count).hex()
    variant = _VARIANT
    return [
        f"{h[at:at + 8]}-{h[at + 8:at + 12]}-4{h[at + 13:at + 16]}-"
        f"{variant[h[at + 16]]}{h[at + 17:at + 20]}-{h[at + 20:at + 32]}"
        for at in range(0, 32 * count, 32)
    ]


# The task ids' random bits. Task ids must be unique, not secret (Flower, the logs and the
# broker show them), so they come from a generator seeded from os.urandom when the process
# starts and again in each forked child, never shared: os.urandom itself, called per batch,
# releases the GIL, and getting it back behind the fan-out's helper threads cost more than
# building the batch's envelopes.
_IDS = random.Random()
os.register_at_fork(after_in_child=_IDS.seed)
