"""Read `device.collect` messages straight from the Redis broker: kombu keeps a list per queue
and priority step, `<queue>` for step 0 (served first) and `<queue>\\x06\\x16<step>` for the
others (project/broker.py gives the steps 0-9)."""

from __future__ import annotations

import base64
import json
from typing import Any

PRIORITY_SEP = "\x06\x16"  # kombu's Redis transport's default `sep`
STEPS = range(10)


def priority_list(queue: str, step: int) -> str:
    """kombu's Redis list of `queue` for messages of priority step `step`."""
    return f"{queue}{PRIORITY_SEP}{step}" if step else queue


def queued_messages(client: Any, queue: str) -> list[dict[str, Any]]:
    """Every message waiting in `queue`, in the order a worker takes them: priority step 0
    first, the oldest first within a step."""
    return [json.loads(raw) for step in STEPS
            for raw in reversed(client.lrange(priority_list(queue, step), 0, -1))]


def queue_length(client: Any, queue: str) -> int:
    """How many messages wait in `queue`, over its priority lists."""
    return sum(client.llen(priority_list(queue, step)) for step in STEPS)


def payload_of(message: dict[str, Any]) -> dict[str, Any]:
    """The JSON argument of a `device.collect` message."""
    body = message["body"]
    if message["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args, _kwargs, _embed = json.loads(body)
    assert message["headers"]["task"] == "device.collect"
    return json.loads(args[0])


def queued_payloads(client: Any, queue: str) -> list[dict[str, Any]]:
    """The JSON arguments of every message waiting in `queue`, in the order a worker takes
    them."""
    return [payload_of(m) for m in queued_messages(client, queue)]


def drop_queue(client: Any, queue: str) -> None:
    """Lose every message waiting in `queue`, as a broker without persistence would."""
    client.delete(*(priority_list(queue, step) for step in STEPS))
