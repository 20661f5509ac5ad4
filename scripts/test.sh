#!/usr/bin/env bash
# Runs the whole suite under Deno and under Bun, then prints the totals of both as
# "N passed, N failed" (and skipped). Extra arguments select test files.
set -u
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
out=$(mktemp -d "${TMPDIR:-/tmp}/thrift-client-junit-XXXXXX")
trap 'rm -rf "$out"' EXIT

files=("$@")
[ ${#files[@]} -eq 0 ] && files=(tests/)

echo "== deno test =="
node_modules/.bin/deno test -A --junit-path="$out/deno.xml" "${files[@]}"
echo "== bun test =="
node_modules/.bin/bun test --timeout 60000 --reporter=junit --reporter-outfile="$out/bun.xml" "${files[@]}"
node scripts/junit_totals.mjs "$out/deno.xml" "$out/bun.xml"
