"""`manage.py import_inventory FILE.yaml [--dry-run]`: load devices, groups and schedules."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devices.inventory import InventoryError, import_inventory, load_inventory_file


class Command(BaseCommand):
    help = "Import (upsert by name) collection groups, device groups, schedules and devices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="inventory YAML file")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report; write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            report = import_inventory(load_inventory_file(path), dry_run=options["dry_run"])
        except InventoryError as exc:
            lines = exc.errors
            raise CommandError(
                f"{path}: {len(lines)} error(s), nothing imported:\n  " + "\n  ".join(lines)
            ) from None
        prefix = "dry run, nothing written: " if options["dry_run"] else ""
        self.stdout.write(f"{prefix}{report.summary()}")
