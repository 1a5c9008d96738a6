"""`python -m beat`: run the backup beat, or inspect / clear its lock.

    python -m beat                 run the beat (the same as `celery -A project beat`)
    python -m beat --check-lock    say who holds the lock (exit 0 ok, 1 stale, 2 Redis down)
    python -m beat --clear-lock [--force]
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beat", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check-lock", action="store_true", help="report the scheduler lock")
    group.add_argument("--clear-lock", action="store_true", help="remove a stale lock")
    parser.add_argument(
        "--force", action="store_true", help="with --clear-lock: remove a live lock"
    )
    parser.add_argument("--loglevel", "-l", default=os.environ.get("DEVICEVAULT_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    if args.force and not args.clear_lock:
        parser.error("--force goes with --clear-lock")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    if args.check_lock or args.clear_lock:
        from beat.cli import check_lock, clear_lock

        return check_lock() if args.check_lock else clear_lock(force=args.force)

    import django

    django.setup()
    from project.celery import app

    app.Beat(loglevel=args.loglevel.upper(), scheduler="beat.scheduler:BackupScheduler").run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
