#!/usr/bin/env bash
# Generates the front end's API types (frontend/src/api/schema.d.ts) from the OpenAPI schema
# that /api/schema/ serves, without a server: `manage.py spectacular` dumps it, then
# openapi-typescript (pinned in frontend/package.json) turns it into TypeScript.
# Usage: scripts/api-types.sh            regenerate the committed file
#        scripts/api-types.sh --check    fail (exit 1) when the committed file is out of date
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=frontend/src/api/schema.d.ts
REGENERATE="scripts/api-types.sh"
check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: $REGENERATE [--check]" >&2; exit 2 ;;
esac

PYTHON=${PYTHON:-.venv/bin/python}
GENERATOR=frontend/node_modules/.bin/openapi-typescript
if [ ! -x "$GENERATOR" ]; then
  echo "api-types: $GENERATOR is missing: run (cd frontend && npm ci) first" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The schema does not depend on the database or the configuration, but settings are loaded:
# keep a developer's DEVICEVAULT_CONFIG from changing it.
env -u DEVICEVAULT_CONFIG -u DEVICEVAULT_DISPLAY_TIMEZONE \
  "$PYTHON" manage.py spectacular --validate --fail-on-warn --file "$work/schema.yaml"
"$GENERATOR" "$work/schema.yaml" --output "$work/generated.d.ts" >/dev/null 2>"$work/generator.log" || {
  cat "$work/generator.log" >&2
  exit 1
}
{
  echo "// The API's types, generated from /api/schema/ by $REGENERATE: do not edit by hand."
  cat "$work/generated.d.ts"
} >"$work/schema.d.ts"

if [ "$check" = 0 ]; then
  cp "$work/schema.d.ts" "$TARGET"
  echo "api-types: wrote $TARGET"
  exit 0
fi

if ! diff -u "$TARGET" "$work/schema.d.ts" >"$work/diff"; then
  head -n 60 "$work/diff" >&2
  echo >&2
  echo "api-types: $TARGET does not match the API's schema (/api/schema/)." >&2
  echo "api-types: regenerate it with: $REGENERATE   (then commit it and fix the type errors)" >&2
  exit 1
fi
echo "api-types: $TARGET matches /api/schema/"
