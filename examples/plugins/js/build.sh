#!/usr/bin/env bash
# Builds a component from policy.js with componentize-js (npm `@bytecodealliance/componentize-js`,
# pinned by tests/tools into target/tools).
# Usage: build.sh OUT.wasm [COMPONENTIZE_JS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
componentize_js="${2:-componentize-js}"
# No WASI feature is used: stdio, random, clocks and HTTP are left out of the component.
"$componentize_js" "$here/policy.js" --wit "$here/../../../wit/policy" --world-name plugin \
  -d stdio random clocks http fetch-event -o "$1"
