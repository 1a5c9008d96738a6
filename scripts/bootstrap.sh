#!/usr/bin/env bash
# Installs the project's Python environment (.venv) and, when asked, the built front end.
# Idempotent and quiet: re-installs only when pyproject.toml / package-lock.json change.
# Usage: scripts/bootstrap.sh [--test] [--frontend]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
extras=""
frontend=0
for arg in "$@"; do
  case "$arg" in
    --test) extras="[test,bench]" ;;
    --frontend) frontend=1 ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
hash=$(sha256sum pyproject.toml | cut -c1-16)
stamp=".venv/.installed-${hash}${extras}"
# An install with the test extras also satisfies a plain one.
if [ ! -f "$stamp" ] && { [ -n "$extras" ] || [ ! -f ".venv/.installed-${hash}[test,bench]" ]; }; then
  echo "bootstrap: installing Python packages${extras:+ (with test extras)}"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if [ "$frontend" = 1 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap: npm not found; the web pages need Node 20+ (the API and admin work without)" >&2
  else
    lockstamp="frontend/node_modules/.installed-$(sha256sum frontend/package-lock.json | cut -c1-16)"
    if [ ! -f "$lockstamp" ]; then
      echo "bootstrap: installing front-end packages (npm ci)"
      (cd frontend && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
      touch "$lockstamp"
    fi
    # Rebuild when any source file is newer than the build.
    if [ ! -f frontend/dist/index.html ] || \
       [ -n "$(find frontend/src frontend/index.html frontend/vite.config.* frontend/package.json \
               -newer frontend/dist/index.html -print -quit 2>/dev/null)" ]; then
      echo "bootstrap: building the front end"
      log=$(mktemp)
      if ! (cd frontend && npm run build --silent >"$log" 2>&1); then
        echo "bootstrap: the front-end build failed:" >&2; cat "$log" >&2; rm -f "$log"; exit 1
      fi
      rm -f "$log"
    fi
  fi
fi
