"""`BackupScheduler`: the Celery beat scheduler class, a thin shell around BeatService.

It overrides only Celery's documented extension points. Built with `lazy=True` (beat's
introspection) it touches nothing: no Redis, no database, no signal handlers.
"""

from __future__ import annotations

from typing import Any

from celery.beat import ScheduleEntry, Scheduler


class BackupScheduler(Scheduler):
    """Fans out due backup schedules to one `device.collect` task per device, as leader."""

    Entry = ScheduleEntry
    #: Celery's loop sleeps at most this long between ticks (seconds).
    max_interval = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.service: Any = None
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        # Called only for a real (not lazy) instance: lock and Redis failures stop here.
        from beat.service import BeatService

        self.service = BeatService()
        self.service.start()

    @property
    def schedule(self) -> dict[str, ScheduleEntry]:
        return {}  # entries live in the database; BeatService keeps its own agenda

    def tick(self, *args: Any, **kwargs: Any) -> float:
        return float(self.service.tick()) if self.service else float(self.max_interval)

    def should_sync(self) -> bool:
        return False

    def sync(self) -> None:
        pass  # the service writes its state as it goes

    def close(self) -> None:
        if self.service is not None:
            self.service.shutdown()
            if self.service.exit_code:
                # Celery's loop swallows SystemExit from tick() and would end the process
                # with 0; close() runs after that, so the code reaches the supervisor.
                raise SystemExit(self.service.exit_code)

    @property
    def info(self) -> str:
        if self.service is None:
            return "backup scheduler (not started)"
        d = self.service.describe()
        return f"leader={d['leader']} schedules={d['schedules']} next_due={d['next_due']}"
