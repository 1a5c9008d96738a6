"""`python -m bench --chaos`: the chaos test's scenario at benchmark size (a benchmark, not a
test): 10,000 devices in 4 collection groups, an occurrence every minute, at least 50 random
faults, then lost / duplicated / overlapping counts and the time to settle.

Runs its own private PostgreSQL cluster and Redis (needs root for `initdb` via runuser) and
never touches the configured services. Exit status 0 when nothing was lost, duplicated or
overlapping.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench --chaos")
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--schedules", type=int, default=20,
                        help="one fires each minute: devices/schedules per occurrence")
    parser.add_argument("--faults", type=int, default=50, help="at least this many faults")
    parser.add_argument("--fault-seconds", type=float, default=180)
    parser.add_argument("--settle-seconds", type=float, default=900)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.chaos import run_chaos

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dv-chaos-") as tmp:
        report = run_chaos(
            Path(tmp), devices=args.devices, groups=4, schedules=args.schedules,
            fault_seconds=args.fault_seconds, min_faults=args.faults,
            settle_seconds=args.settle_seconds, seed=args.seed,
            log=lambda line: print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr,
                                   flush=True),
        )
    print(report.line())
    settled = "never" if report.settled_seconds is None else f"{report.settled_seconds:.0f}s"
    print(f"lost={report.lost} duplicated={report.duplicated} overlapping={report.overlapping} "
          f"time_to_settle={settled} seed={args.seed} "
          f"total={(time.monotonic() - started) / 60:.1f} min")
    ok = (report.lost, report.duplicated, report.overlapping) == (0, 0, 0)
    return 0 if ok and report.settled_seconds is not None else 1


if __name__ == "__main__":
    sys.exit(main())
