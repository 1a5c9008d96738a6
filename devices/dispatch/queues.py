"""Queue naming: one broker queue per collection group."""

from __future__ import annotations

from typing import Any

QUEUE_PREFIX = "collect."
DEFAULT_QUEUE = "collect.default"


def collection_queue_name_from_slug(slug: str | None) -> str:
    """`collect.<slug>`, or `collect.default` for devices without a group."""
    return f"{QUEUE_PREFIX}{slug}" if slug else DEFAULT_QUEUE


def collection_queue_name_from_group(group: Any) -> str:
    """`collect.<group slug>` for a CollectionGroup (or None: `collect.default`)."""
    return collection_queue_name_from_slug(getattr(group, "slug", None) if group else None)
