"""The benchmark history (bench/history.py): runs kept as JSON, and `--compare` between two."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import history

ROOT = Path(__file__).resolve().parents[1]


def run(*rows: tuple[str, list[float]], load: str = "0.1") -> dict[str, object]:
    return {"info": {"load average (1/5/15 min)": load}, "failures": [],
            "rows": [{"key": k, "label": k.replace(".", " "), "unit": "ms", "samples": s}
                     for k, s in rows]}


def test_compare_gives_the_change_of_every_figure_new_and_gone_included() -> None:
    before = run(("idle", [1.0, 2.0, 3.0]), ("fanout", [10.0]), ("old", [5.0]))
    after = run(("idle", [2.0, 2.2, 2.4]), ("fanout", [8.0]), ("calendar", [40.0]))
    assert history.compare(before, after) == [
        ("idle", "ms", 2.0, 2.2, "+10.0 %"),
        ("fanout", "ms", 10.0, 8.0, "-20.0 %"),
        ("calendar", "ms", None, 40.0, "new"),
        ("old", "ms", 5.0, None, "gone"),
    ]


def test_runs_are_kept_sortably_and_compared_from_the_command_line(tmp_path: Path) -> None:
    first = history.save(run(("idle", [1.0])), stamp="20261203T090000Z", directory=tmp_path)
    second = history.save(run(("idle", [0.5])), stamp="20261203T100000Z", directory=tmp_path)
    assert history.resolve("latest", tmp_path) == second
    assert history.resolve("previous", tmp_path) == first
    assert json.loads(second.read_text())["rows"][0]["samples"] == [0.5]
    out = subprocess.run([sys.executable, "-m", "bench", "--compare", str(first), str(second)],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "idle [ms]: 1 -> 0.5 (-50.0 %)" in out
    bad = subprocess.run([sys.executable, "-m", "bench", "--compare", str(first)],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "usage" in bad.stderr
