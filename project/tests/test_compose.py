"""compose.yaml, the Dockerfile and the env file example: every service is there, healthy
before its dependents start, restarts, runs safely (Redis noeviction, Flower behind a login),
and every setting the code reads is documented in the env file the services load."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "devicevault.env.example"
ENV_FILE = "${DEVICEVAULT_ENV_FILE:-deploy/devicevault.env}"

SERVICES = {"postgres", "redis", "web", "worker", "beat", "flower", "rabbitmq"}
# Services that start only with `--profile <name>`.
PROFILES = {"rabbitmq": ["rabbitmq"]}
APP_SERVICES = ("web", "worker", "beat", "flower")
# Services allowed without a health check, and why. None today.
NO_HEALTHCHECK: dict[str, str] = {}
# Variables the code reads that the env file need not mention, and why.
NOT_IN_ENV_FILE = {
    "DJANGO_SETTINGS_MODULE": "set by the image (Dockerfile ENV) and by every entry point",
}
# Variables a deployment must set (the others have defaults the example shows commented).
REQUIRED = {
    "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS", "DATABASE_URL",
    "REDIS_URL", "DEVICEVAULT_DISPLAY_TIMEZONE", "DEVICEVAULT_LOG_FORMAT", "FLOWER_BASIC_AUTH",
    "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB",
}
ENV_READS = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\.setdefault|env\.get)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|(?:os\.environ|env)\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]"""
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def env_example() -> tuple[dict[str, str], set[str]]:
    """(variables set, variables only shown commented out as `# NAME=default`)."""
    values: dict[str, str] = {}
    commented: set[str] = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line):
            values[match.group(1)] = match.group(2)
        elif match := re.match(r"^#\s*([A-Z][A-Z0-9_]*)=", line):
            commented.add(match.group(1))
    return values, commented


def variables_read_by_the_code() -> set[str]:
    """Every environment variable named in the apps' Python code (tests and migrations aside)."""
    names: set[str] = set()
    for package in ("project", "schedules", "devices", "beat"):
        for path in (ROOT / package).rglob("*.py"):
            if {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
                continue
            for match in ENV_READS.finditer(path.read_text()):
                names.add(match.group(1) or match.group(2))
    return names


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_compose_has_every_service(services: dict[str, Any]) -> None:
    assert set(services) == SERVICES


def test_optional_services_start_only_with_their_profile(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert service.get("profiles") == PROFILES.get(name), name


def test_rabbitmq_keeps_its_queues_in_a_named_volume_under_a_fixed_node_name(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["image"].startswith("rabbitmq:3")
    assert rabbitmq["hostname"] == "rabbitmq"  # the node's name, hence its data directory
    volume, path = rabbitmq["volumes"][0].split(":")
    assert volume in compose["volumes"] and path == "/var/lib/rabbitmq"
    assert "rabbitmq-diagnostics" in rabbitmq["healthcheck"]["test"]
    assert all(port.startswith("127.0.0.1:") for port in rabbitmq["ports"])
    assert rabbitmq["env_file"] == ENV_FILE
    values, _ = env_example()
    assert {"RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS"} <= set(values)
    # The broker URL the example documents logs in as that user, on the rabbitmq service.
    text = ENV_EXAMPLE.read_text()
    url = (f"amqp://{values['RABBITMQ_DEFAULT_USER']}:{values['RABBITMQ_DEFAULT_PASS']}"
           "@rabbitmq:5672//")
    assert f"CELERY_BROKER_URL={url}" in text


def test_every_service_has_a_healthcheck_or_a_documented_reason(
    services: dict[str, Any],
) -> None:
    for name, service in services.items():
        if name in NO_HEALTHCHECK:
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name}: no healthcheck"
        assert not check.get("disable"), name


def test_every_service_restarts_unless_stopped(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert service.get("restart") == "unless-stopped", name


def test_app_services_wait_for_healthy_dependencies(services: dict[str, Any]) -> None:
    expected = {
        "web": {"postgres", "redis"},
        "worker": {"postgres", "redis", "web"},  # web healthy = migrations applied
        "beat": {"postgres", "redis", "web"},
        "flower": {"redis"},
    }
    for name, needs in expected.items():
        depends = services[name]["depends_on"]
        assert set(depends) == needs, name
        for dependency in needs:
            assert depends[dependency] == {"condition": "service_healthy"}, (name, dependency)


def test_postgres_keeps_its_data_in_a_named_volume_and_checks_with_pg_isready(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:15")
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_redis_runs_with_noeviction_and_append_only(services: dict[str, Any]) -> None:
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    command = redis["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert command[command.index("--appendonly") + 1] == "yes"
    assert "redis-cli" in redis["healthcheck"]["test"] and "ping" in redis["healthcheck"]["test"]


def test_web_migrates_then_serves_gunicorn_and_checks_healthz(services: dict[str, Any]) -> None:
    web = services["web"]
    command = command_text(web)
    assert command.index("manage.py migrate --noinput") < command.index("gunicorn project.wsgi")
    assert "/healthz" in " ".join(web["healthcheck"]["test"])


def test_worker_consumes_every_collection_queue_and_the_housekeeping_queue(
    services: dict[str, Any],
) -> None:
    command = services["worker"]["command"]
    assert command[:4] == ["celery", "-A", "project", "worker"]
    assert "--all-collection-queues" in command
    # celery: Celery's default queue, where periodic tasks (housekeeping) go
    assert command[command.index("-Q") + 1].split(",") == ["collect.default", "celery"]


def test_beat_runs_as_leader_and_standby(services: dict[str, Any]) -> None:
    beat = services["beat"]
    assert beat["command"] == ["python", "-m", "beat"]
    assert beat["deploy"]["replicas"] == 2
    assert beat.get("init") is True  # SIGTERM reaches the beat, which releases its lock


def test_flower_always_runs_behind_basic_auth_from_the_env_file(services: dict[str, Any]) -> None:
    command = command_text(services["flower"])
    assert "celery -A project flower" in command
    assert re.search(r'--basic-auth="\$\$\{FLOWER_BASIC_AUTH:\?', command), command
    values, _ = env_example()
    assert re.fullmatch(r"[^:\s]+:\S+", values["FLOWER_BASIC_AUTH"])
    assert all(port.startswith("127.0.0.1:") for port in services["flower"]["ports"])


def test_app_services_load_settings_and_secrets_from_the_env_file(
    services: dict[str, Any],
) -> None:
    for name in (*APP_SERVICES, "postgres"):
        assert services[name]["env_file"] == ENV_FILE, name
        assert "environment" not in services[name], f"{name}: settings belong in the env file"


def test_every_variable_the_code_reads_is_documented_in_the_env_file_example() -> None:
    values, commented = env_example()
    read = variables_read_by_the_code()
    assert {"DJANGO_SECRET_KEY", "REDIS_URL", "DATABASE_URL"} <= read  # the scan works
    missing = sorted(read - set(values) - commented - set(NOT_IN_ENV_FILE))
    assert not missing, f"not in {ENV_EXAMPLE.relative_to(ROOT)}: {missing}"
    assert REQUIRED <= set(values), sorted(REQUIRED - set(values))


def test_env_file_example_is_consistent() -> None:
    values, _ = env_example()
    # The postgres container's password is the one in DATABASE_URL.
    url = values["DATABASE_URL"]
    assert f"{values['POSTGRES_USER']}:{values['POSTGRES_PASSWORD']}@postgres:" in url
    assert url.endswith(f"/{values['POSTGRES_DB']}")
    assert values["REDIS_URL"].startswith("redis://redis:")
    # The web health check asks for Host: localhost.
    assert "localhost" in values["DJANGO_ALLOWED_HOSTS"].split(",")
    assert values["DEVICEVAULT_LOG_FORMAT"] in {"text", "json"}
    assert not [name for name, value in values.items() if "${" in value]  # Compose expands it


def test_dockerfile_builds_the_front_end_then_runs_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert stages[0].startswith("node:20") and stages[-1].startswith("python:3.11-slim")
    assert "npm ci" in dockerfile and "npm run build" in dockerfile
    assert "pip install ." in dockerfile
    assert "COPY --from=frontend" in dockerfile and "frontend/dist" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", "var", "frontend/node_modules", "deploy/devicevault.env"):
        assert path in ignored, path


def test_docker_compose_config_accepts_the_file() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        message = "docker-compose not installed (Debian: apt-get install docker-compose)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must validate compose.yaml")
        pytest.skip(message)
    env = {**os.environ, "DEVICEVAULT_ENV_FILE": str(ENV_EXAMPLE.relative_to(ROOT))}
    run = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "-q"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert not run.stderr.strip(), run.stderr  # no warnings either
