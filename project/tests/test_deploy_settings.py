"""Production settings: `check --deploy` is clean with the compose env file, and a placeholder
or weak `DJANGO_SECRET_KEY` stops every entry point with one line.

Issue 14, finding 6: `check --deploy` warned W004/W008/W012/W016 with the compose env, and
the example's placeholder secret key was accepted.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / "deploy" / "devicevault.env.example"
ENTRY_POINTS = pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "beat"],
        [sys.executable, "-m", "celery", "-A", "project", "worker", "--pool=solo", "-Q", "x"],
        [sys.executable, "-c", "import project.wsgi"],
    ],
    ids=["beat", "worker", "web"],
)


def example_env(*, fill_placeholders: bool) -> dict[str, str]:
    """The variables the compose env file example sets, as a container would get them.

    With `fill_placeholders`, every `change-me…` value is replaced the way the file tells an
    operator to. The database and Redis are the test run's own: nothing here may reach
    another host, nor a Redis database other tests or developers use.
    """
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line):
            values[match.group(1)] = match.group(2)
    if fill_placeholders:
        password = secrets.token_urlsafe(16)
        for name, value in values.items():
            if "change-me" not in value:
                continue
            if name == "DJANGO_SECRET_KEY":
                values[name] = secrets.token_urlsafe(50)
            elif name == "DEVICEVAULT_CREDENTIALS_KEY":
                values[name] = base64.urlsafe_b64encode(os.urandom(32)).decode()
            else:
                values[name] = re.sub(r"change-me[\w-]*", password, value)
    from django.conf import settings

    values["DATABASE_URL"] = os.environ["DATABASE_URL"]
    values["REDIS_URL"] = values["CELERY_BROKER_URL"] = settings.REDIS_URL
    return values


def run(argv: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEVICEVAULT_"))}
    return subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**base, **env, "DEVICEVAULT_VAR_DIR": str(tmp_path)},
    )


def test_check_deploy_with_the_compose_env_file_reports_nothing(tmp_path: Path) -> None:
    done = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        example_env(fill_placeholders=True), tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "System check identified no issues (0 silenced).", done.stdout


def test_embedded_defaults_keep_plain_http_cookies(tmp_path: Path) -> None:
    """`./devicevault.sh start` serves http://localhost:8000: no HTTPS redirect, no HSTS."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)"
    )
    done = run(
        [sys.executable, "-c", code], {"DJANGO_SETTINGS_MODULE": "project.settings"}, tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "False", "0", "None"]


@ENTRY_POINTS
def test_the_example_placeholder_secret_key_stops_every_entry_point_with_one_line(
    tmp_path: Path, argv: list[str]
) -> None:
    env = example_env(fill_placeholders=True)
    env["DJANGO_SECRET_KEY"] = example_env(fill_placeholders=False)["DJANGO_SECRET_KEY"]
    done = run(argv, env, tmp_path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("configuration error: environment: DJANGO_SECRET_KEY: ")
    assert "placeholder" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "key", ["hunter2", "x" * 60, "django-insecure-" + "a1b2c3d4e5" * 5, "short-but-random-Zq8"]
)
def test_weak_secret_keys_are_refused(tmp_path: Path, key: str) -> None:
    env = example_env(fill_placeholders=True)
    env["DJANGO_SECRET_KEY"] = key
    done = run([sys.executable, "-c", "import project.wsgi"], env, tmp_path)
    assert done.returncode == 2
    [line] = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("configuration error: environment: DJANGO_SECRET_KEY: ")
    assert key not in line  # a secret is never echoed


@pytest.mark.parametrize(
    ("name", "value"),
    [("DJANGO_SECURE_HSTS_SECONDS", "a year"), ("DJANGO_SESSION_COOKIE_SECURE", "maybe"),
     ("DJANGO_SECURE_PROXY_SSL_HEADER", "X Forwarded Proto")],
)
def test_bad_tls_settings_stop_with_one_line_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    env = example_env(fill_placeholders=True)
    env[name] = value
    done = run([sys.executable, "-c", "import project.wsgi"], env, tmp_path)
    assert done.returncode == 2
    [line] = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith(f"configuration error: environment: {name}: ")


def test_embedded_secret_files_are_created_readable_by_their_owner_only(tmp_path: Path) -> None:
    # With a permissive umask, and with chmod doing nothing, a file that was first written
    # and then chmod-ed would be left world-readable: the mode must be set at creation.
    code = (
        "import os, pathlib; os.umask(0); pathlib.Path.chmod = lambda self, mode: None; "
        "import django; os.environ['DJANGO_SETTINGS_MODULE'] = 'project.settings'; "
        "django.setup()"
    )
    answer = run([sys.executable, "-c", code], {}, tmp_path)
    assert answer.returncode == 0, answer.stderr
    for name in ("secret_key", "credentials_key"):
        mode = (tmp_path / name).stat().st_mode & 0o777
        assert mode == 0o600, f"{name}: {oct(mode)}"
    assert not list(tmp_path.glob(".*_key.*"))  # no temporary file left behind
