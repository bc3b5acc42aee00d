#!/usr/bin/env bash
# Builds policy.wasm from app.py with componentize-py (pinned by tests/tools into target/tools).
# Usage: build.sh OUT.wasm [COMPONENTIZE_PY]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$1"
componentize_py="${2:-componentize-py}"
"$componentize_py" -d "$here/../../../wit/policy" -w plugin componentize --stub-wasi -p "$here" app -o "$out"
