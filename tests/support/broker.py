"""Read `device.collect` messages straight from the Redis broker (kombu's list per queue)."""

from __future__ import annotations

import base64
import json
from typing import Any


def queued_payloads(client: Any, queue: str) -> list[dict[str, Any]]:
    """The JSON arguments of every message waiting in `queue`, oldest first."""
    out = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        assert message["headers"]["task"] == "device.collect"
        out.append(json.loads(args[0]))
    return out
