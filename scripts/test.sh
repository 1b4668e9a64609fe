#!/usr/bin/env bash
# Set up and run the whole test suite: on SQLite, and again on PostgreSQL when
# CLIPSHOP_TEST_DATABASE_URL points at a server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --dev

run_pytest() {
    local label="$1"; shift
    echo "==> test suite on $label"
    set +e
    .venv/bin/python -m pytest "$@"
    local status=$?
    set -e
    if [ "$status" -eq 5 ]; then
        echo "pytest collected no tests on $label: failing" >&2
        exit 1
    fi
    if [ "$status" -ne 0 ]; then exit "$status"; fi
}

PG_URL="${CLIPSHOP_TEST_DATABASE_URL:-}"
# Tests marked postgres_pass (the in-process schemathesis run) go to the PostgreSQL pass when
# there is one: on SQLite they would only repeat it.
POSTGRES_PASS_FOLLOWS=0
[ -n "$PG_URL" ] && POSTGRES_PASS_FOLLOWS=1
CLIPSHOP_TEST_DATABASE_URL="" CLIPSHOP_TEST_POSTGRES_PASS_FOLLOWS=$POSTGRES_PASS_FOLLOWS run_pytest "SQLite" "$@"
if [ -n "$PG_URL" ]; then
    CLIPSHOP_TEST_DATABASE_URL="$PG_URL" run_pytest "PostgreSQL" "$@"
else
    echo "==> CLIPSHOP_TEST_DATABASE_URL not set: skipped the PostgreSQL run"
fi
