#!/usr/bin/env bash
# Static checks: types, lint, format, docs, and a JSR publish dry run. Exits non-zero on
# the first failure.
set -eu
cd "$(dirname "$0")/.."
bash scripts/setup.sh
deno=node_modules/.bin/deno
$deno check mod.ts src/ tests/*.ts tests/helpers/ examples/ bench/bench.ts bench/child.js bench/fault_sim.ts bench/fault_server.ts
$deno lint
$deno fmt --check
$deno doc --lint mod.ts src/testing.ts
$deno publish --dry-run --allow-dirty
