#!/usr/bin/env bash
# Set up and start ClipShop on the embedded default (SQLite + media/ + in-process worker),
# with demo data. Open http://127.0.0.1:8000/docs once it is up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
echo "==> applying migrations"
.venv/bin/python -m app migrate
echo "==> seeding demo data"
.venv/bin/python -m app seed-demo
echo "==> serving on http://${CLIPSHOP_HOST:-127.0.0.1}:${CLIPSHOP_PORT:-8000} (docs at /docs)"
exec .venv/bin/python -m app serve --host "${CLIPSHOP_HOST:-127.0.0.1}" --port "${CLIPSHOP_PORT:-8000}"
