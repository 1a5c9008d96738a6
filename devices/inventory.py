"""Inventory import: validate a whole YAML inventory, then upsert it by name in one transaction."""

from __future__ import annotations

import reprlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction
from django.utils.text import slugify

from devices.models import (
    CollectionGroup,
    CredentialSet,
    Device,
    DeviceGroup,
    MaintenanceWindow,
)
from devices.services import WINDOW_FIELDS, maintenance_window_save
from schedules.models import BackupSchedule
from schedules.services import schedule_create, schedule_update

SECTIONS = ("collection_groups", "device_groups", "schedules", "devices", "maintenance_windows")
OPTIONAL_SECTIONS = ("maintenance_windows",)
SCHEDULE_KEYS = {
    "name", "schedule_type", "hour", "minute", "day_of_week", "day_of_month",
    "cron_expression", "enabled", "timezone", "priority", "spread_minutes", "overlap_policy",
}
DEVICE_KEYS = {
    "name", "ip_address", "enabled", "device_group", "collection_group", "backup_schedule",
    "backup_method", "platform", "backup_command", "credential_set",
}
DEVICE_GROUP_KEYS = {"name", "user_groups", "credential_set"}
COLLECTION_GROUP_KEYS = {"name", "slug", "concurrency_limit"}
WINDOW_KEYS = {*WINDOW_FIELDS, "device_groups", "collection_groups"}
WINDOW_NUMBERS = ("hour", "minute", "day_of_week", "day_of_month", "duration_minutes")
GROUP_NAME_MAX_LENGTH = Group._meta.get_field("name").max_length or 150
DEVICE_TEXT_FIELDS = ("ip_address", "backup_method", "platform", "backup_command")


# YAML aliases may repeat what an anchor holds (`<<: *defaults`), but a file whose aliases
# expand to far more values than it spells out (a "billion laughs" alias bomb) is refused
# before anything is built from it.
ALIAS_EXPANSION_FACTOR = 10
ALIAS_EXPANSION_ALLOWANCE = 100_000

# Values quoted in error messages are cut short: a message never grows with the input.
_short_repr = reprlib.Repr()
_short_repr.maxlevel, _short_repr.maxlist, _short_repr.maxdict = 3, 4, 4
_short_repr.maxstring = _short_repr.maxother = 60
_short_repr.maxlong = 40


def show(value: Any) -> str:
    """`repr(value)`, cut to a few dozen characters (also for huge or nested values)."""
    text = _short_repr.repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def show_key(key: Any) -> str:
    """A mapping key as written (a short string), else shortened like `show`."""
    return key if isinstance(key, str) and len(key) <= 60 else show(key)


class InventoryError(Exception):
    """The inventory cannot be imported; `errors` lists one located message per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class ImportReport:
    """Counts per section of what the import created, updated or left unchanged."""

    counts: dict[str, Counter[str]] = field(
        default_factory=lambda: {s: Counter() for s in SECTIONS}
    )

    def add(self, section: str, outcome: str) -> None:
        self.counts[section][outcome] += 1

    def summary(self) -> str:
        parts = []
        for section in SECTIONS:
            c = self.counts[section]
            if section in OPTIONAL_SECTIONS and not sum(c.values()):
                continue  # a file without the section reads as before it existed
            parts.append(
                f"{section}: {c['created']} created, {c['updated']} updated, "
                f"{c['unchanged']} unchanged"
            )
        return "; ".join(parts)


def load_inventory_file(path: str | Path) -> dict[str, Any]:
    """Parse the YAML file into a mapping; raise InventoryError naming the file on failure."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError([f"{path}: cannot read: {exc}"]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        problem = _alias_problem(node) if node is not None else None
        if problem:
            raise InventoryError([f"{path}: {problem}"])
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or show(str(exc))
        raise InventoryError([f"{path}: invalid YAML{where}: {problem}"]) from None
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InventoryError([f"{path}: expected a mapping with sections {', '.join(SECTIONS)}"])
    return data


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _alias_problem(root: yaml.Node) -> str | None:
    """What is wrong with the aliases of a composed document (None: nothing).

    Walks the node graph once (aliases are shared nodes in it) and computes how many values
    the document holds once every alias is expanded; refuses more than
    ALIAS_EXPANSION_FACTOR times the values it spells out plus ALIAS_EXPANSION_ALLOWANCE,
    and an alias inside its own anchor.
    """
    sizes: dict[int, int] = {}
    references: Counter[int] = Counter()
    nodes: dict[int, yaml.Node] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in sizes:
            continue
        if key in open_nodes:  # met again below itself
            return f"line {node.start_mark.line + 1}: an alias refers to itself (recursive YAML)"
        open_nodes.add(key)
        nodes[key] = node
        stack.append((node, True))
        for child in _children(node):
            references[id(child)] += 1
            if id(child) not in sizes:
                stack.append((child, False))
    limit = ALIAS_EXPANSION_FACTOR * len(sizes) + ALIAS_EXPANSION_ALLOWANCE
    if sizes[id(root)] <= limit:
        return None
    shared = [key for key, count in references.items() if count > 1]
    worst = max(shared, key=lambda key: sizes[key] * references[key])
    line = nodes[worst].start_mark.line + 1
    return (
        f"line {line}: YAML aliases expand the file to more than {limit:,} values "
        f"(an alias bomb?); write the values out or use fewer aliases"
    )


class _Importer:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.credential_sets = {c.name: c for c in CredentialSet.objects.all()}
        self.errors: list[str] = []
        self.report = ImportReport()

    # -- helpers -----------------------------------------------------------
    def _records(self, section: str) -> list[tuple[str, dict[str, Any]]]:
        raw = self.data.get(section) or []
        if not isinstance(raw, list):
            self.errors.append(f"{section}: expected a list")
            return []
        out = []
        for index, item in enumerate(raw):
            if section == "collection_groups" and isinstance(item, str):
                item = {"name": item}
            if not isinstance(item, dict):
                self.errors.append(f"{section}[{index}]: expected a mapping, got {show(item)}")
                continue
            name = item.get("name")
            if isinstance(name, str) and len(name) > 60:
                name = f"{name[:57]}..."
            label = f"{section}[{index}] ({name})" if name else f"{section}[{index}]"
            if not isinstance(name, str) or not name.strip():
                self.errors.append(f"{label}: name: required, a non-empty string")
                continue
            out.append((label, item))
        return out

    def _unknown_keys(self, label: str, item: dict[str, Any], allowed: set[str]) -> bool:
        unknown = sorted(set(item) - allowed, key=str)
        for key in unknown:
            allowed_text = ", ".join(sorted(allowed))
            self.errors.append(f"{label}: {show_key(key)}: unknown field (allowed: {allowed_text})")
        return bool(unknown)

    def _duplicates(self, section: str, records: list[tuple[str, dict[str, Any]]]) -> None:
        seen: set[str] = set()
        for label, item in records:
            if item["name"] in seen:
                self.errors.append(f"{label}: name: appears twice in {section}")
            seen.add(item["name"])

    def _validation_errors(self, label: str, exc: ValidationError) -> None:
        for fname, messages in exc.message_dict.items():
            where = "record" if fname == "__all__" else fname
            for message in messages:
                self.errors.append(f"{label}: {where}: {message}")

    def _validate(self, section: str, label: str, obj: models.Model, exclude: list[str]) -> None:
        try:
            obj.full_clean(exclude=exclude, validate_unique=False)
        except ValidationError as exc:
            self._validation_errors(label, exc)

    @staticmethod
    def _changes(obj: models.Model, values: dict[str, Any]) -> bool:
        changed = False
        for key, value in values.items():
            if getattr(obj, key) != value:
                setattr(obj, key, value)
                changed = True
        return changed

    def _upsert(
        self, section: str, label: str, existing: dict[str, Any], *, name: str,
        values: dict[str, Any], make: Callable[[], Any],
        check: Callable[[Any], None] | None = None,
        save: Callable[[Any, bool], Any] | None = None, also_changed: bool = False,
    ) -> None:
        """The one way a record is written: the object named `name` (made by `make()` when
        there is none) takes `values`, is validated (plus `check(obj)`, which may add
        errors), and is saved — by `save(obj, created)` when given — only when it is new or
        changed (`also_changed`: by what `values` do not hold) and nothing was wrong with it.
        Counted in the report either way."""
        obj = existing.get(name)
        created = obj is None
        if obj is None:
            obj = make()
        changed = self._changes(obj, values) or also_changed
        before = len(self.errors)
        self._validate(section, label, obj, exclude=[])
        if check is not None:
            check(obj)
        if len(self.errors) == before and (created or changed):
            if save is None:
                obj.save()
            else:
                obj = save(obj, created)
        self.report.add(section, "created" if created else "updated" if changed else "unchanged")
        existing[name] = obj

    # -- sections ----------------------------------------------------------
    def run(self) -> ImportReport:
        unknown = sorted(set(self.data) - set(SECTIONS), key=str)
        for key in unknown:
            self.errors.append(f"{show_key(key)}: unknown section (allowed: {', '.join(SECTIONS)})")
        collection = self._collection_groups()
        device_groups = self._device_groups()
        schedules = self._schedules()
        self._devices(collection, device_groups, schedules)
        self._maintenance_windows(collection, device_groups)
        if self.errors:
            raise InventoryError(self.errors)
        return self.report

    def _collection_groups(self) -> dict[str, CollectionGroup]:
        records = self._records("collection_groups")
        self._duplicates("collection_groups", records)
        existing = {g.name: g for g in CollectionGroup.objects.all()}
        slug_owners = {g.slug: g.name for g in existing.values()}
        for label, item in records:
            if self._unknown_keys(label, item, COLLECTION_GROUP_KEYS):
                continue
            name = item["name"]
            self._upsert(
                "collection_groups", label, existing, name=name,
                values={k: v for k, v in item.items() if k != "name"},
                make=partial(CollectionGroup, name=name, slug=slugify(name) or "group"),
                check=partial(self._slug_free, label, slug_owners),
            )
        return existing

    def _slug_free(self, label: str, owners: dict[str, str], group: CollectionGroup) -> None:
        """Two collection groups with one slug would share a queue."""
        if not isinstance(group.slug, str):
            return
        owner = owners.setdefault(group.slug, group.name)
        if owner != group.name:
            self.errors.append(
                f"{label}: slug: {show(group.slug)} is already the slug of collection group "
                f"{show(owner)}"
            )

    def _credential_set(self, label: str, item: dict[str, Any]) -> tuple[bool, Any]:
        """(ok, the named credential set or None); credentials themselves never come from a
        file: a record names a set already stored (admin)."""
        name = item.get("credential_set")
        if name is None:
            return True, None
        found = self.credential_sets.get(name) if isinstance(name, str) else None
        if found is None:
            self.errors.append(f"{label}: credential_set: unknown credential set {show(name)}")
            return False, None
        return True, found

    def _device_groups(self) -> dict[str, DeviceGroup]:
        records = self._records("device_groups")
        self._duplicates("device_groups", records)
        existing = {g.name: g for g in DeviceGroup.objects.prefetch_related("user_groups")}
        for label, item in records:
            if self._unknown_keys(label, item, DEVICE_GROUP_KEYS):
                continue
            wanted = item.get("user_groups") or []
            if not isinstance(wanted, list) or not all(isinstance(g, str) and g for g in wanted):
                self.errors.append(f"{label}: user_groups: expected a list of group names")
                continue
            too_long = [g for g in wanted if len(g) > GROUP_NAME_MAX_LENGTH]
            for name in too_long:
                self.errors.append(
                    f"{label}: user_groups: {show(name)} is longer than Django allows for a "
                    f"group name (at most {GROUP_NAME_MAX_LENGTH} characters)"
                )
            if too_long:
                continue
            ok, credential_set = self._credential_set(label, item)
            if not ok:
                continue
            obj = existing.get(item["name"])
            created = obj is None
            if obj is None:
                obj = DeviceGroup(name=item["name"], credential_set=credential_set)
                before = len(self.errors)
                self._validate("device_groups", label, obj, exclude=[])
                if len(self.errors) > before:
                    continue
                obj.save()
                current: set[str] = set()
            else:
                current = {g.name for g in obj.user_groups.all()}
            changed = set(wanted) != current
            if obj.credential_set_id != getattr(credential_set, "pk", None):
                obj.credential_set = credential_set
                self._validate("device_groups", label, obj, exclude=[])
                obj.save(update_fields=["credential_set"])
                changed = True
            if set(wanted) != current:
                groups = [Group.objects.get_or_create(name=n)[0] for n in wanted]
                obj.user_groups.set(groups)
            self.report.add("device_groups", "created" if created else
                            "updated" if changed else "unchanged")
            existing[obj.name] = obj
        return existing

    def _schedules(self) -> dict[str, BackupSchedule]:
        records = self._records("schedules")
        self._duplicates("schedules", records)
        existing = {s.name: s for s in BackupSchedule.objects.all()}
        for label, item in records:
            if self._unknown_keys(label, item, SCHEDULE_KEYS):
                continue
            name = item["name"]
            values = {k: v for k, v in item.items() if k != "name"}
            if "cron_expression" in values and values["cron_expression"] is None:
                values["cron_expression"] = ""
            type_errors: list[str] = [
                k for k in ("hour", "minute", "day_of_week", "day_of_month", "priority",
                            "spread_minutes")
                if k in values and values[k] is not None
                and (not isinstance(values[k], int) or isinstance(values[k], bool))
            ]
            if "enabled" in values and not isinstance(values["enabled"], bool):
                type_errors.append("enabled")
            for key in type_errors:
                self.errors.append(f"{label}: {key}: expected "
                                   f"{'true or false' if key == 'enabled' else 'a whole number'}, "
                                   f"got {show(values[key])}")
            if type_errors:
                continue
            self._upsert("schedules", label, existing, name=name, values=values,
                         make=partial(BackupSchedule, name=name),
                         save=partial(_save_schedule, values))
        return existing

    def _devices(
        self,
        collection: dict[str, CollectionGroup],
        device_groups: dict[str, DeviceGroup],
        schedules: dict[str, BackupSchedule],
    ) -> None:
        records = self._records("devices")
        self._duplicates("devices", records)
        existing = {d.name: d for d in Device.objects.all()}
        refs = (
            ("device_group", device_groups, "device group"),
            ("collection_group", collection, "collection group"),
            ("backup_schedule", schedules, "schedule"),
        )
        for label, item in records:
            if self._unknown_keys(label, item, DEVICE_KEYS):
                continue
            values: dict[str, Any] = {
                "ip_address": item.get("ip_address"),
                "enabled": item.get("enabled", True),
                "backup_method": item.get("backup_method", "") or "",
                "platform": item.get("platform", "") or "",
                "backup_command": item.get("backup_command", "") or "",
            }
            if not isinstance(values["enabled"], bool):
                self.errors.append(f"{label}: enabled: expected true or false, "
                                   f"got {show(values['enabled'])}")
                continue
            not_text = [k for k in DEVICE_TEXT_FIELDS
                        if values[k] is not None and not isinstance(values[k], str)]
            for key in not_text:
                self.errors.append(f"{label}: {key}: expected a string, got {show(values[key])}")
            if not_text:
                continue
            bad_ref = False
            for key, known, what in refs:
                ref = item.get(key)
                if ref is None:
                    values[key] = None
                elif not isinstance(ref, str) or ref not in known:
                    self.errors.append(f"{label}: {key}: unknown {what} {show(ref)}")
                    bad_ref = True
                else:
                    values[key] = known[ref]
            ok, values["credential_set"] = self._credential_set(label, item)
            if bad_ref or not ok:
                continue
            self._upsert("devices", label, existing, name=item["name"], values=values,
                         make=partial(Device, name=item["name"]))

    def _maintenance_windows(
        self, collection: dict[str, CollectionGroup], device_groups: dict[str, DeviceGroup]
    ) -> None:
        records = self._records("maintenance_windows")
        self._duplicates("maintenance_windows", records)
        existing = {w.name: w for w in MaintenanceWindow.objects.prefetch_related(
            "device_groups", "collection_groups")}
        for label, item in records:
            if self._unknown_keys(label, item, WINDOW_KEYS):
                continue
            values = {k: v for k, v in item.items() if k in WINDOW_FIELDS and k != "name"}
            bad = [k for k in WINDOW_NUMBERS if values.get(k) is not None
                   and (not isinstance(values[k], int) or isinstance(values[k], bool))]
            for key in bad:
                self.errors.append(f"{label}: {key}: expected a whole number, "
                                   f"got {show(values[key])}")
            start = self._window_start(label, values.get("start"))
            if bad or start is False:
                continue
            if "start" in values:
                values["start"] = start
            scope = {key: self._names(label, key, item.get(key), known)
                     for key, known in (("device_groups", device_groups),
                                        ("collection_groups", collection))}
            if any(v is None for v in scope.values()):
                continue
            window = existing.get(item["name"])
            rescoped = window is not None and any(
                {g.pk for g in scope[key] or []} != {g.pk for g in getattr(window, key).all()}
                for key in scope)
            self._upsert(
                "maintenance_windows", label, existing, name=item["name"], values=values,
                make=partial(MaintenanceWindow, name=item["name"]),
                save=partial(_save_window, scope), also_changed=rescoped,
            )

    def _names(self, label: str, key: str, raw: Any, known: dict[str, Any]) -> list[Any] | None:
        """The groups a list of names refers to (None after reporting an error)."""
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
            self.errors.append(f"{label}: {key}: expected a list of names")
            return None
        unknown = [n for n in raw if n not in known]
        for name in unknown:
            self.errors.append(f"{label}: {key}: unknown {key[:-1].replace('_', ' ')} "
                               f"{show(name)}")
        return None if unknown else [known[n] for n in raw]

    def _window_start(self, label: str, raw: Any) -> Any:
        """`start` as an aware datetime (YAML may give a datetime or an ISO string; without an
        offset it is display-local), None when absent, False after reporting an error."""
        from datetime import datetime

        from django.utils import timezone

        if raw is None:
            return None
        value = raw
        if isinstance(raw, str):
            try:
                value = datetime.fromisoformat(raw)
            except ValueError:
                value = None
        if not isinstance(value, datetime):
            self.errors.append(f"{label}: start: expected a date and time "
                               f"(YYYY-MM-DDTHH:MM[+HH:MM]), got {show(raw)}")
            return False
        if value.tzinfo is None:
            value = timezone.make_aware(value, timezone.get_default_timezone())
        return value


def _save_window(scope: dict[str, Any], window: MaintenanceWindow, created: bool) -> Any:
    """Through the service, like the API: the window and its scope, all or nothing."""
    return maintenance_window_save(window=window, data={}, **scope)


def _save_schedule(values: dict[str, Any], schedule: BackupSchedule, created: bool) -> Any:
    """Through the services, like the admin and the API (derived fields, the beat)."""
    if created:
        return schedule_create(name=schedule.name, **values)
    return schedule_update(schedule=schedule, data=values)


def import_inventory(data: dict[str, Any], *, dry_run: bool = False) -> ImportReport:
    """Validate and upsert a parsed inventory; all-or-nothing. Raises InventoryError."""

    class _DryRun(Exception):
        pass

    importer = _Importer(data)
    try:
        with transaction.atomic():
            report = importer.run()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except DatabaseError as exc:
        # Validation should have caught it; still one line, never a traceback, and the
        # transaction is rolled back: nothing was written.
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InventoryError([f"the database refused the inventory: {show(first_line)}"]) from None
    return report
