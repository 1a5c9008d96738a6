"""`manage.py recompute_next_runs`: refresh every schedule's next-run cache after bulk edits."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from schedules.services import recompute_next_runs


class Command(BaseCommand):
    help = "Recompute next_run_at of every schedule (after SQL or queryset bulk updates)."

    def handle(self, *args: Any, **options: Any) -> None:
        updated = recompute_next_runs()
        self.stdout.write(f"next_run_at recomputed: {updated} schedule(s) changed")
