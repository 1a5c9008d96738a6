"""Celery task routes: `device.collect` goes to its collection group's queue."""

from __future__ import annotations

import json
from typing import Any

from devices.dispatch.queues import DEFAULT_QUEUE, collection_queue_name_from_slug

COLLECT_TASK = "device.collect"


def route_task(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], options: dict[str, Any],
    task: Any = None, **kw: Any,
) -> dict[str, str] | None:
    """Route `device.collect` by the `collection_group` slug carried in its JSON argument."""
    if name != COLLECT_TASK:
        return None
    try:
        payload = json.loads(args[0]) if args else {}
    except (TypeError, ValueError):
        return {"queue": DEFAULT_QUEUE}
    slug = payload.get("collection_group") if isinstance(payload, dict) else None
    return {"queue": collection_queue_name_from_slug(slug)}
