"""Benchmark history: every full run of `python -m bench` is kept as JSON under docs/bench/
(machine, load, versions, every figure), and `python -m bench --compare A B` prints how each
figure changed between two runs, so a regression shows in review.

A and B are files, or `latest` and `previous` (the newest two runs in docs/bench/).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

HISTORY = Path(__file__).resolve().parents[1] / "docs" / "bench"


def save(run: dict[str, Any], *, stamp: str, directory: Path = HISTORY) -> Path:
    """Write one run as `<stamp>.json` (stamp: UTC, sortable); returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stamp}.json"
    path.write_text(json.dumps(run, indent=1, default=str, sort_keys=True) + "\n")
    return path


def resolve(name: str, directory: Path = HISTORY) -> Path:
    """A run's file: a path, or `latest` / `previous` in `directory`."""
    if name in {"latest", "previous"}:
        runs = sorted(directory.glob("*.json"))
        wanted = 1 if name == "latest" else 2
        if len(runs) < wanted:
            raise SystemExit(f"bench --compare: no {name} run in {directory} "
                             f"({len(runs)} run(s) there)")
        return runs[-wanted]
    path = Path(name)
    if not path.is_file():
        raise SystemExit(f"bench --compare: {name}: no such file")
    return path


def medians(run: dict[str, Any]) -> dict[str, tuple[str, str, float]]:
    """key -> (label, unit, median) of every figure of a run that has samples."""
    out = {}
    for row in run.get("rows", []):
        if row.get("samples"):
            out[row["key"]] = (row["label"], row["unit"], statistics.median(row["samples"]))
    return out


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str, Any, Any, str]]:
    """(label, unit, before, after, change) for every figure of either run, in `after`'s order
    then the ones only `before` has; change is a signed percentage, or `new` / `gone`."""
    old, new = medians(before), medians(after)
    lines = []
    for key in [*new, *(k for k in old if k not in new)]:
        label, unit, _ = new.get(key) or old[key]
        a = old[key][2] if key in old else None
        b = new[key][2] if key in new else None
        if a is None:
            change = "new"
        elif b is None:
            change = "gone"
        elif a == 0:
            change = "=" if b == 0 else "n/a"
        else:
            change = f"{(b - a) / abs(a) * 100:+.1f} %"
        lines.append((label, unit, a, b, change))
    return lines


def main(a: str, b: str) -> int:
    before_path, after_path = resolve(a), resolve(b)
    before = json.loads(before_path.read_text())
    after = json.loads(after_path.read_text())
    print(f"{before_path.name} -> {after_path.name}")
    for name, run in (("before", before), ("after", after)):
        load = run.get("info", {}).get("load average (1/5/15 min)", "?")
        print(f"  {name}: load {load}")
    for label, unit, x, y, change in compare(before, after):
        shown = [f"{v:.4g}" if v is not None else "-" for v in (x, y)]
        print(f"  {label} [{unit}]: {shown[0]} -> {shown[1]} ({change})")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
