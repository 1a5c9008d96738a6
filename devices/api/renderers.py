"""A fast JSON renderer for the scheduled-backups calendar."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class CalendarData(dict):  # type: ignore[type-arg]
    """Marks a response body as a calendar, for CalendarJSONRenderer's fast path."""


class CalendarJSONRenderer(JSONRenderer):
    """Renders `calendar_for_user()` output, encoding each schedule's device list only once.

    A schedule's entries on every day of the window share one device list object (see the
    selector), so the list is encoded the first time it is met and the text reused: for a
    daily schedule over 30 days that is 1/30 of the encoding work. The bytes are the same as
    DRF's JSONRenderer gives (compact, UTF-8). Anything but `CalendarData` (errors, the
    OPTIONS description) renders as usual.
    """

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if not isinstance(data, CalendarData):
            return super().render(data, accepted_media_type, renderer_context)
        encoded_devices: dict[int, str] = {}  # id(list) -> JSON; `data` keeps the lists alive
        encoded_names: dict[int, str] = {}
        parts: list[str] = ["{"]
        for day_index, (day, entries) in enumerate(data.items()):
            if day_index:
                parts.append(",")
            parts.append(_encode(day))
            parts.append(":[")
            for entry_index, entry in enumerate(entries):
                devices = entry["devices"]
                devices_json = encoded_devices.get(id(devices))
                if devices_json is None:
                    devices_json = encoded_devices[id(devices)] = _encode(devices)
                schedule_id = entry["schedule_id"]
                name_json = encoded_names.get(schedule_id)
                if name_json is None:
                    name_json = encoded_names[schedule_id] = _encode(entry["schedule_name"])
                parts.append(
                    f'{"," if entry_index else ""}{{"schedule_id":{int(schedule_id)},'
                    f'"schedule_name":{name_json},"time":{_encode(entry["time"])},'
                    f'"device_count":{int(entry["device_count"])},"devices":{devices_json}}}'
                )
            parts.append("]")
        parts.append("}")
        # As DRF does: these two are valid JSON but end a line in JavaScript source.
        text = "".join(parts).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return text.encode("utf-8")
