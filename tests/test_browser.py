"""Browser tests: the built Vue app against the real back end, in Debian's headless Chromium.

pytest-django's live server serves the API and the SPA (frontend/dist through the static files
handler); the database is seeded with `import_inventory` from frontend/e2e/fixtures/, two
users and two nights of results (`_seed_history`); a real Celery worker (the `procs` fixture)
collects "Back up now"; then `frontend/e2e/run.mjs` (Node's test runner + playwright-core)
drives Chromium through the scenarios and this test asserts its exit code, showing its report.

Needs: `frontend/dist` (scripts/bootstrap.sh --frontend, i.e. `npm ci && npm run build`),
`frontend/node_modules/playwright-core` (npm ci) and Chromium (`apt-get install -y chromium`;
another binary with CHROMIUM=/path). Screenshots of the pages go to $SCREENSHOT_DIR when
it is set (`SCREENSHOT_DIR=docs/screenshots` refreshes the README's), else to a temporary
directory.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
RUNNER = FRONTEND / "e2e" / "run.mjs"
INVENTORY = FRONTEND / "e2e" / "fixtures" / "inventory.yaml"
RUN_TIMEOUT_S = 240

STAFF = ("e2e-staff", "e2e-staff-pw-1")
OTHER = ("e2e-branch", "e2e-branch-pw-1")
INSTALL_CHROMIUM = "apt-get install -y chromium"


def _unavailable(reason: str) -> NoReturn:
    """Fail under CI (a missing tool there is a broken setup), skip on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser_tools() -> dict[str, str]:
    """Chromium, Node and playwright-core, and the built front end; the paths to use."""
    index = FRONTEND / "dist" / "index.html"
    if not index.is_file():
        pytest.fail(
            f"{index.relative_to(ROOT)} is missing: build the front end first "
            "(scripts/bootstrap.sh --frontend, or: cd frontend && npm ci && npm run build)",
            pytrace=False,
        )
    sources = [FRONTEND / "index.html", FRONTEND / "package.json", *FRONTEND.glob("vite.config.*")]
    sources += [p for p in (FRONTEND / "src").rglob("*") if p.is_file()]
    stale = [p for p in sources if p.stat().st_mtime > index.stat().st_mtime]
    if stale:
        pytest.fail(
            f"frontend/dist is older than {stale[0].relative_to(ROOT)}: rebuild it "
            "(scripts/bootstrap.sh --frontend, or: cd frontend && npm run build)",
            pytrace=False,
        )
    chromium = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        _unavailable(f"Chromium not found at {chromium}: {INSTALL_CHROMIUM} (or set CHROMIUM)")
    node = shutil.which("node")
    if node is None:
        _unavailable("node not found: the browser tests need Node 20+ (see frontend/README.md)")
    if not (FRONTEND / "node_modules" / "playwright-core" / "package.json").is_file():
        pytest.fail(
            "frontend/node_modules/playwright-core is missing: cd frontend && npm ci",
            pytrace=False,
        )
    return {"chromium": chromium, "node": str(node)}


def _seed() -> None:
    """The inventory, and one user on each side of the access rule."""
    from django.contrib.auth.models import Group, Permission, User

    call_command("import_inventory", str(INVENTORY), stdout=io.StringIO())
    staff = User.objects.create_user(STAFF[0], password=STAFF[1], is_staff=True)
    staff.groups.add(Group.objects.get(name="netops"))
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="devices", codename="change_device")
    )
    other = User.objects.create_user(OTHER[0], password=OTHER[1])
    other.groups.add(Group.objects.get(name="branch-support"))
    _seed_history()


ROUTER_CONFIG = (
    "hostname Core-Router-01\ninterface Gi0/1\n description uplink\nntp server {ntp}\nend\n"
)


def _seed_history() -> None:
    """The past the pages show: the last two nights of "Daily 2 AM" (frontend/e2e/lib/fixture.mjs
    HISTORY), two stored configurations of Core-Router-01 that differ in one line, and
    Core-Router-01 collected by the test workers' `test` method (back up now)."""
    from datetime import datetime, timedelta
    from datetime import time as clock

    from django.utils import timezone

    from devices.collection.backups import backup_store
    from devices.models import BackupSchedule, Device, DeviceBackupResult
    from devices.selectors import display_zone

    zone = display_zone()
    today = timezone.now().astimezone(zone).date()
    daily = BackupSchedule.objects.get(name="Daily 2 AM")
    r1 = Device.objects.get(name="Core-Router-01")
    r2 = Device.objects.get(name="Core-Router-02")
    Device.objects.filter(pk=r1.pk).update(backup_method="test")
    plan = [  # (days ago, device, status, error, config)
        (2, r1, "success", "", ROUTER_CONFIG.format(ntp="10.0.0.1")),
        (2, r2, "success", "", None),
        (1, r1, "success", "", ROUTER_CONFIG.format(ntp="127.0.0.1")),
        (1, r2, "failed", "connection refused by 127.0.0.12:22", None),
    ]
    for days_ago, device, status, error, config in plan:
        occurrence = datetime.combine(today - timedelta(days=days_ago), clock(2, 0), tzinfo=zone)
        result = DeviceBackupResult.objects.create(
            device=device, schedule=daily, schedule_name=daily.name, scheduled_for=occurrence,
            status=status, error=error, attempts=1, started_at=occurrence + timedelta(seconds=1),
            finished_at=occurrence + timedelta(seconds=4),
        )
        if config is not None:
            backup_store(result=result, text=config)


def test_spa_in_chromium(
    browser_tools: dict[str, str], live_server: Any, procs: Any, tmp_path: Path
) -> None:
    _seed()
    # A real worker, so "Back up now" ends in a finished result (Core-Router-01: `test` method).
    worker = procs.worker()
    worker.wait_for(r"ready", timeout=60)
    screenshots = os.environ.get("SCREENSHOT_DIR") or str(tmp_path / "screenshots")
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in {"http_proxy", "https_proxy", "all_proxy"}
    }
    env.update(
        BASE_URL=live_server.url,
        CHROMIUM=browser_tools["chromium"],
        E2E_STAFF_USER=STAFF[0],
        E2E_STAFF_PASSWORD=STAFF[1],
        E2E_OTHER_USER=OTHER[0],
        E2E_OTHER_PASSWORD=OTHER[1],
        SCREENSHOT_DIR=str(Path(screenshots).resolve()),
        NO_PROXY="*",
        NO_COLOR="1",
        TMPDIR=str(tmp_path),  # Chromium's throwaway profile
    )
    started = time.monotonic()
    try:
        result = subprocess.run(
            [browser_tools["node"], "--test-reporter=spec", str(RUNNER.relative_to(ROOT))],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = "\n".join(
            part.decode(errors="replace") if isinstance(part, bytes) else part
            for part in (exc.stdout, exc.stderr)
            if part
        )
        pytest.fail(f"browser run exceeded {RUN_TIMEOUT_S} s:\n{output}", pytrace=False)
    report = f"{result.stdout}\n{result.stderr}".strip()
    print(f"browser run: {time.monotonic() - started:.1f} s, exit {result.returncode}\n{report}")
    assert result.returncode == 0, f"browser scenarios failed (exit {result.returncode}):\n{report}"
    pages = ("calendar", "calendar-results", "devices", "device-edit", "device", "device-diff",
             "results", "analytics", "schedules", "alerts")
    for name in pages:
        assert (Path(screenshots) / f"{name}.png").is_file(), f"no {name}.png screenshot"
