#!/usr/bin/env bash
# The fault simulation (bench/fault_sim.ts): three Thrift servers in child processes behind a
# dnsmasq name, an app on Deno.serve calling them through a balanced, pooled ThriftClient, 64
# HTTP clients; one server killed and restarted, one slowed, DNS swapping an address. Prints
# per-phase figures and the targets. --short: phases of 1 s; --bun: on Bun instead of Deno.
# Exits non-zero only when a request hung or the run could not be done (dnsmasq missing, ...).
set -eu
cd "$(dirname "$0")/.."
bash scripts/setup.sh
args=()
runtime=deno
for arg in "$@"; do
  if [ "$arg" = "--bun" ]; then runtime=bun; else args+=("$arg"); fi
done
if [ "$runtime" = bun ]; then
  exec node_modules/.bin/bun bench/fault_sim.ts ${args[@]+"${args[@]}"}
fi
exec node_modules/.bin/deno run -A --unstable-no-legacy-abort bench/fault_sim.ts ${args[@]+"${args[@]}"}
