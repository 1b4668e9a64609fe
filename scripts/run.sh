#!/usr/bin/env bash
# Set up and start ClipShop on the embedded default (SQLite + media/ + in-process worker),
# with demo data. Open http://127.0.0.1:8000/ (web client) or /docs (API) once it is up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
HOST="${CLIPSHOP_HOST:-127.0.0.1}"
PORT="${CLIPSHOP_PORT:-8000}"
# Media URLs handed to clients point at this server unless configured otherwise.
export CLIPSHOP_PUBLIC_BASE_URL="${CLIPSHOP_PUBLIC_BASE_URL:-http://$HOST:$PORT}"
echo "==> applying migrations"
.venv/bin/python -m app migrate
echo "==> seeding demo data"
.venv/bin/python -m app seed-demo
echo "==> serving on http://$HOST:$PORT (web client at /, API docs at /docs)"
exec .venv/bin/python -m app serve --host "$HOST" --port "$PORT"
