"""A fast JSON renderer for the scheduled-backups calendar."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer

from devices.calendar_devices import DeviceList

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _encode(value: Any) -> bytes:
    """Compact UTF-8 JSON, as DRF's JSONRenderer writes it (U+2028/9 escaped)."""
    text = _encoder.encode(value)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode("utf-8")


class CalendarData(dict):  # type: ignore[type-arg]
    """Marks a response body as a calendar, for CalendarJSONRenderer's fast path."""


class CalendarJSONRenderer(JSONRenderer):
    """Renders `calendar_for_user()` output, building the body once.

    A schedule's entries on every day of the window share one device list object (see the
    selector), so the list is encoded the first time it is met and the same bytes object is
    reused: for a daily schedule over 30 days that is 1/30 of the encoding work, and the
    pieces hold no copy of it. A `DeviceList` (kept between requests, never changed) also
    keeps its bytes, so the next request with the same lists does not encode them again.
    The body is then joined once; there is no intermediate text
    of the whole answer. The bytes are the same as DRF's JSONRenderer gives (compact, UTF-8).
    Anything but `CalendarData` (errors, the OPTIONS description) renders as usual.
    """

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if not isinstance(data, CalendarData):
            return super().render(data, accepted_media_type, renderer_context)
        encoded_devices: dict[int, bytes] = {}  # id(list) -> JSON; `data` keeps lists alive
        encoded_names: dict[int, bytes] = {}
        # Times ("02:30") and zone names repeat across entries: each is encoded once.
        encoded_text: dict[str | None, bytes] = {}

        def text(value: str | None) -> bytes:
            found = encoded_text.get(value)
            if found is None:
                found = encoded_text[value] = _encode(value)
            return found

        parts: list[bytes] = [b"{"]
        for day_index, (day, entries) in enumerate(data.items()):
            if day_index:
                parts.append(b",")
            parts.append(_encode(day))
            parts.append(b":[")
            for entry_index, entry in enumerate(entries):
                devices = entry["devices"]
                devices_json = encoded_devices.get(id(devices))
                if devices_json is None:
                    devices_json = getattr(devices, "json", None)  # a kept DeviceList's
                    if devices_json is None:
                        devices_json = _encode(devices)
                        if isinstance(devices, DeviceList):
                            devices.json = devices_json
                    encoded_devices[id(devices)] = devices_json
                schedule_id = entry["schedule_id"]
                if schedule_id is None:  # a schedule deleted since, in the past
                    name_json = _encode(entry["schedule_name"])
                    id_json = b"null"
                else:
                    cached = encoded_names.get(schedule_id)
                    if cached is None:
                        cached = encoded_names[schedule_id] = _encode(entry["schedule_name"])
                    name_json, id_json = cached, b"%d" % int(schedule_id)
                parts.append(
                    b'%s{"schedule_id":%s,"schedule_name":%s,"time":%s,"device_count":%d,'
                    b'"devices":' % (
                        b"," if entry_index else b"", id_json, name_json,
                        text(entry["time"]), int(entry["device_count"]),
                    )
                )
                parts.append(devices_json)  # shared, not copied
                parts.append(
                    b',"devices_truncated":true' if entry["devices_truncated"]
                    else b',"devices_truncated":false'
                )
                parts.append(b',"spread_minutes":%d,"timezone":%s' % (
                    int(entry["spread_minutes"]), text(entry["timezone"])))
                if "results" in entry:
                    parts.append(b',"results":%s' % _encode(entry["results"]))
                if "deferred_from" in entry:
                    parts.append(b',"deferred_from":%s' % _encode(entry["deferred_from"]))
                parts.append(b"}")
            parts.append(b"]")
        parts.append(b"}")
        return b"".join(parts)
