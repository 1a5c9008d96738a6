"""`manage.py first_run`: on an empty installation, load the demo inventory and create an admin."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from devices.inventory import import_inventory, load_inventory_file
from devices.models import Device
from schedules.models import BackupSchedule


class Command(BaseCommand):
    help = "Load the demo inventory into an empty database and create the first admin user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--inventory", help="inventory YAML loaded when nothing exists yet")
        parser.add_argument("--url", default="http://localhost:8000/", help="shown to the user")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["inventory"] and not (
            Device.objects.exists() or BackupSchedule.objects.exists()
        ):
            report = import_inventory(load_inventory_file(options["inventory"]))
            self.stdout.write(f"Loaded the demo inventory: {report.summary()}")
        user_model = get_user_model()
        if not user_model.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            user_model.objects.create_superuser("admin", "", password)
            url = options["url"]
            self.stdout.write(
                f"Created the admin user (shown once): open {url} and log in as "
                f"admin / {password}  (Django admin: {url.rstrip('/')}/admin/)"
            )
