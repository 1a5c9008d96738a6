"""Contract of the hand-built `device.collect` messages (devices/dispatch/publisher.py) with
Celery's own.

The publisher sends the first message of each queue through `send_task` and copies it as a
template for the rest. These tests hold every templated message against what Celery itself
builds for the same task id and argument, `app.amqp.as_task_v2` called exactly as `send_task`
calls it (headers, properties, body), and against the first message kombu's Redis transport
really wrote to the same queue (envelope, body encoding, routing). A Celery or kombu upgrade
that changes the envelope fails here instead of in a worker.
"""

from __future__ import annotations

import base64
import inspect
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery.utils.saferepr import saferepr
from kombu.serialization import dumps as kombu_dumps

from devices.dispatch.publisher import CollectPublisher
from devices.dispatch.queues import DEFAULT_QUEUE, collection_queue_name_from_slug
from devices.dispatch.routing import COLLECT_TASK
from project.celery import app
from tests.support.broker import priority_list, queued_messages

GROUP_SLUG = "sydney-dc1"
GROUP_QUEUE = collection_queue_name_from_slug(GROUP_SLUG)

# Values that differ per message by design; everything else must be byte-for-byte Celery's.
PER_MESSAGE_HEADERS = ("id", "root_id", "argsrepr")
PER_MESSAGE_PROPERTIES = ("correlation_id", "delivery_tag")


def _payload(result_id: int, slug: str | None, *, name_length: int = 0) -> str:
    # Quotes and non-ASCII make the JSON text carry backslashes, which Celery's argsrepr
    # (saferepr) writes differently from Python's repr; a long name makes Celery cut it.
    name = f'Core "Router" {result_id} – Zürich, l\'atelier'
    return json.dumps(
        {
            "result_id": result_id,
            "device_id": result_id + 1000,
            "device_name": name.ljust(name_length, "x"),
            "ip_address": f"127.0.0.{result_id}",
            "schedule_id": 7,
            "scheduled_for": "2027-10-03T16:30:00Z",
            "is_catchup": False,
            "manual": False,
            "collection_group": slug,
        },
        separators=(",", ":"),
    )


@pytest.fixture
def send_task_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[inspect.BoundArguments]]:
    """Every call `send_task` makes to build a message, bound to `as_task_v2`'s signature."""
    calls: list[inspect.BoundArguments] = []
    real = app.amqp.as_task_v2
    signature = inspect.signature(real)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(signature.bind(*args, **kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(app.amqp, "create_task_message", spy)
    yield calls


@pytest.fixture
def published(redis_db: Any, send_task_calls: list[inspect.BoundArguments]) -> dict[str, Any]:
    """Four messages of priority 9 to collect.default (one too long for argsrepr) and two of
    priority 3 to a group's queue, read back raw."""
    items = [(_payload(n, None), None, 9) for n in (1, 2, 3)]
    items += [(_payload(n, GROUP_SLUG), GROUP_SLUG, 3) for n in (4, 5)]
    items += [(_payload(6, None, name_length=1500), None, 9)]
    with CollectPublisher(app) as publisher:
        assert publisher.publish(items) == 6
    queues = {queue: queued_messages(redis_db, queue) for queue in (DEFAULT_QUEUE, GROUP_QUEUE)}
    return {"queues": queues, "send_task_calls": list(send_task_calls)}


def _body(message: dict[str, Any]) -> Any:
    assert message["properties"]["body_encoding"] == "base64"
    return json.loads(base64.b64decode(message["body"]))


def _celery_message(call: inspect.BoundArguments, task_id: str, payload: str) -> Any:
    """What `as_task_v2` builds for `payload` and `task_id` with `send_task`'s other arguments."""
    replay = inspect.BoundArguments(call.signature, call.arguments.copy())
    replay.arguments["task_id"] = task_id
    replay.arguments["args"] = [payload]
    return app.amqp.as_task_v2(*replay.args, **replay.kwargs)


def _masked(message: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(message))
    out["body"] = "<body>"
    for key in PER_MESSAGE_HEADERS:
        out["headers"][key] = f"<{key}>"
    for key in PER_MESSAGE_PROPERTIES:
        out["properties"][key] = f"<{key}>"
    return out


def test_every_queue_gets_one_message_from_send_task_and_the_rest_from_the_template(
    published: dict[str, Any],
) -> None:
    queues = published["queues"]
    assert [len(queues[DEFAULT_QUEUE]), len(queues[GROUP_QUEUE])] == [4, 2]
    # One send_task per queue: the first message of each, which also declares the queue.
    assert len(published["send_task_calls"]) == 2
    for queue, messages in queues.items():
        for message in messages:
            assert message["properties"]["delivery_info"] == {"exchange": "", "routing_key": queue}


def test_each_message_waits_in_kombus_list_of_its_priority_step_as_send_tasks_first_does(
    published: dict[str, Any], redis_db: Any,
) -> None:
    """Redis serves step 0 first: priority 9 travels as Celery priority 0, in the queue's own
    list; priority 3 as 6, in `<queue>\x06\x166`, the list kombu put send_task's message in."""
    assert redis_db.llen(DEFAULT_QUEUE) == 4
    assert redis_db.llen(priority_list(GROUP_QUEUE, 6)) == 2
    for queue, priority in ((DEFAULT_QUEUE, 0), (GROUP_QUEUE, 6)):
        assert {m["properties"]["priority"] for m in published["queues"][queue]} == {priority}


def test_templated_headers_properties_and_body_are_what_as_task_v2_builds_for_the_same_task(
    published: dict[str, Any],
) -> None:
    calls = published["send_task_calls"]
    for queue, call in zip((DEFAULT_QUEUE, GROUP_QUEUE), calls, strict=True):
        first, *templated = published["queues"][queue]
        assert call.arguments["args"] == [_body(first)[0][0]]
        for message in templated:
            task_id = message["headers"]["id"]
            payload = _body(message)[0][0]
            celery = _celery_message(call, task_id, payload)

            assert message["headers"] == json.loads(json.dumps(celery.headers))
            properties = json.loads(json.dumps(celery.properties))
            assert message["properties"].items() >= properties.items()
            content_type, content_encoding, data = kombu_dumps(celery.body, serializer="json")
            assert (message["content-type"], message["content-encoding"]) == (
                content_type, content_encoding,
            )
            assert _body(message) == json.loads(data)


def test_templated_envelopes_equal_the_one_kombu_wrote_except_per_message_ids(
    published: dict[str, Any],
) -> None:
    for messages in published["queues"].values():
        first, *templated = messages
        for message in templated:
            assert _masked(message) == _masked(first)


def test_each_templated_message_has_its_own_ids_and_a_matching_argsrepr(
    published: dict[str, Any],
) -> None:
    ids = set()
    for messages in published["queues"].values():
        for message in messages:
            headers, properties = message["headers"], message["properties"]
            assert headers["root_id"] == headers["id"] == properties["correlation_id"]
            assert uuid.UUID(headers["id"]).version == 4
            assert uuid.UUID(properties["delivery_tag"]).version == 4
            args = _body(message)[0]
            assert headers["argsrepr"] == saferepr(
                args, app.amqp.argsrepr_maxsize, maxlevels=app.conf.task_repr_maxlevels
            )
            assert headers["task"] == COLLECT_TASK
            ids |= {headers["id"], properties["delivery_tag"]}
    assert len(ids) == 12


def _device_row(result_id: int, name: str, ip: str | None, slug: str | None) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "id": result_id, "device_id": result_id + 1000, "device__name": name,
        "device__ip_address": ip, "schedule_id": 7 if result_id % 2 else None,
        "scheduled_for": datetime(2027, 10, 3, 16, 30, tzinfo=UTC),
        "is_catchup": bool(result_id % 3 == 0), "manual": bool(result_id % 2 == 0),
        "device__collection_group__slug": slug, "attempts": result_id % 4,
    }


# Names and addresses whose JSON needs escaping: quotes, backslashes, control characters,
# non-ASCII (BMP and beyond), with and without an apostrophe (argsrepr's two paths).
AWKWARD = [
    ('Core "Router" \\ Zürich – 東京', "fe80::1%eth0"),
    ("l'atelier \\'\" \u2028\t\n\x00 😀", None),
    ("plain", "10.0.0.1"),
    ('\\\\"', '"\\'),
]


def test_templated_payload_is_the_compact_json_encoders_for_awkward_devices() -> None:
    from devices.dispatch.fanout import collect_payload, collect_payload_fields

    for n, (name, ip) in enumerate(AWKWARD, start=1):
        for slug in (None, GROUP_SLUG):
            row = _device_row(n, name, ip, slug)
            expected = json.dumps(collect_payload_fields(row), separators=(",", ":"))
            assert collect_payload(row) == expected
            assert json.loads(collect_payload(row))["device_name"] == name


def test_templated_body_and_argsrepr_are_byte_for_byte_celerys_for_awkward_devices(
    redis_db: Any, send_task_calls: list[inspect.BoundArguments],
) -> None:
    """The body bytes are kombu's JSON of as_task_v2's body, and the argsrepr header
    saferepr's, for payloads whose device name and address carry quotes, backslashes and
    non-ASCII (the body is written from the payload's escaped text, not by json.dumps)."""
    from devices.dispatch.fanout import collect_payload

    payloads = [collect_payload(_device_row(n, name, ip, None))
                for n, (name, ip) in enumerate(AWKWARD * 2, start=1)]
    with CollectPublisher(app) as publisher:
        assert publisher.publish([(p, None, 9) for p in payloads]) == len(payloads)
    first, *templated = queued_messages(redis_db, DEFAULT_QUEUE)
    (call,) = send_task_calls
    assert len(templated) == len(payloads) - 1
    seen = set()
    for message in templated:
        payload = _body(message)[0][0]
        seen.add(payload)
        celery = _celery_message(call, message["headers"]["id"], payload)
        _type, _encoding, data = kombu_dumps(celery.body, serializer="json")
        assert base64.b64decode(message["body"]) == data.encode()
        assert message["headers"] == json.loads(json.dumps(celery.headers))
        assert _masked(message) == _masked(first)
    assert seen == set(payloads[1:])


def test_a_forked_process_draws_task_ids_of_its_own() -> None:
    """The ids come from a generator of the process (not os.urandom per batch): a child made
    by fork (a worker pool, a daemonized beat) must not repeat its parent's next ids."""
    import os

    from devices.dispatch.publisher import _uuid4_strings

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, then out at once
        os.write(write, ",".join(_uuid4_strings(8)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode().split(",")
    os.close(read)
    parent = _uuid4_strings(8)
    assert len(child) == 8 and all(uuid.UUID(i).version == 4 for i in child + parent)
    assert set(child).isdisjoint(parent)
