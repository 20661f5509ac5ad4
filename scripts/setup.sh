#!/usr/bin/env bash
# Installs the npm dependencies (thrift, deno, bun) into node_modules when they are missing.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/deno ] || [ ! -x node_modules/.bin/bun ] || [ ! -d node_modules/thrift ]; then
  npm install --no-audit --no-fund
fi
