#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis the tests use answer; starts them where this machine can.
set -u
cd "$(dirname "$0")/.."
pg_ok() { .venv/bin/python - <<'PY' 2>/dev/null
import psycopg2; psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=2).close()
PY
}
redis_ok() { .venv/bin/python -c 'import redis; redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()' 2>/dev/null; }
if pg_ok && redis_ok; then exit 0; fi
for helper in ../shared/services.sh ./shared/services.sh; do
  [ -x "$helper" ] || [ -f "$helper" ] && { bash "$helper"; break; }
done
if ! pg_ok; then
  echo "test-services: PostgreSQL does not answer on 127.0.0.1:5432 (user postgres, trust auth)." >&2
  echo "  Debian: apt-get install -y postgresql && pg_ctlcluster <version> main start" >&2
  exit 1
fi
if ! redis_ok; then
  echo "test-services: Redis does not answer on 127.0.0.1:6379." >&2
  echo "  Debian: apt-get install -y redis-server && redis-server --daemonize yes" >&2
  exit 1
fi
