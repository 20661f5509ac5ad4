#!/usr/bin/env bash
# Regenerates tests/gen (the test service's compiler output and typed modules) from
# tests/idl/test.thrift with this package's own generator, src/gen/main.ts.
set -eu
cd "$(dirname "$0")/.."
exec node_modules/.bin/deno run -A src/gen/main.ts tests/idl/test.thrift --out tests/gen
