#!/usr/bin/env bash
# The demo: installs the npm dependencies if needed, then runs examples/demo.ts on Deno.
set -eu
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node_modules/.bin/deno run -A --unstable-no-legacy-abort examples/demo.ts "$@"
