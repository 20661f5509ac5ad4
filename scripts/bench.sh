#!/usr/bin/env bash
# The side-by-side benchmark (bench/bench.ts): this library vs npm `thrift` vs a raw socket,
# on Deno and Bun, against a C++ server. --quick: tiny counts, fails unless every cell has a
# number (never asserts a speed).
set -eu
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node_modules/.bin/deno run -A bench/bench.ts "$@"
