/**
 * The fault simulation (bench/fault_sim.ts) in its short form, phases of 1 s: three servers in
 * child processes behind a dnsmasq name, an app on the runtime's HTTP server calling `add`
 * (idempotent) and `echoString` (not) per request, 64 fetch loops; one server killed and
 * restarted, one slowed, DNS swapping an address. It checks what must hold whatever the
 * machine: no request hangs, no idempotent call fails, non-idempotent failures only right
 * after the kill, the killed server ejected then re-admitted, the DNS change seen (the dropped
 * address drained, the new one serving), and no file descriptor left open. Speeds are printed
 * by the simulation itself, never asserted.
 *
 * Runs under `deno test -A tests/fault_sim_test.ts` and `bun test tests/fault_sim_test.ts`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { report } from "../bench/fault_sim.ts";
import { type FaultSimResult, runFaultSim } from "../bench/fault_sim_run.ts";
import { dnsmasqAvailable } from "./helpers/dnsmasq.ts";
import { withoutFdLeak } from "./helpers/fds.ts";

const available = dnsmasqAvailable();
const skip = available
  ? false
  : "dnsmasq not installed (Debian: dnsmasq-base); it names the simulation's servers";
if (!available) console.log(`SKIPPED the fault simulation: ${skip}`);

describe("fault simulation, short form", () => {
  it(
    "loses no idempotent call and hangs no request through a kill, a slow server and a DNS change",
    { timeout: 120_000, skip },
    async () => {
      let result: FaultSimResult | undefined;
      await withoutFdLeak(async () => {
        result = await runFaultSim({ phaseMs: 1_000 });
      });
      const r = result!;
      const text = report(r); // every assertion shows the whole run
      assert.equal(r.hung, 0, text);
      assert.equal(r.phases.length, 6, text); // warm-up, steady, kill, slow, dns, steady
      for (const phase of r.phases) {
        assert.ok(phase.requests > 0, `no request ended in phase ${phase.name}\n${text}`);
        assert.equal(phase.failedIdempotent, 0, `phase ${phase.name}\n${text}`);
        assert.equal(phase.failedRequests, 0, `phase ${phase.name}\n${text}`);
      }
      assert.equal(r.nonIdempotentOutsideKill, 0, text);
      assert.ok(r.ejectedMs !== undefined, `the killed server was never ejected\n${text}`);
      assert.ok(
        r.readmittedMs !== undefined,
        `the restarted server was never re-admitted\n${text}`,
      );
      assert.ok(r.addedSeenMs !== undefined, `the added address never appeared\n${text}`);
      assert.ok(r.droppedGoneMs !== undefined, `the dropped address never drained\n${text}`);
      assert.equal(r.droppedAnsweredAfterGone, false, text);
      assert.ok(r.addedAnswered > 0, `the added server never answered\n${text}`);
      const last = r.phases.at(-1)!;
      assert.ok((last.answeredBy[r.hosts.added] ?? 0) > 0, text);
      assert.equal(last.answeredBy[r.hosts.dropped], undefined, text);
      assert.deepEqual(
        r.endpoints.map((e) => e.url.replace(/:\d+$/, "")).sort(),
        [r.hosts.killed, r.hosts.slowed, r.hosts.added].map((h) => `tcp://${h}`).sort(),
        text,
      );
    },
  );
});
