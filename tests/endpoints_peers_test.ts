/**
 * Several endpoints against the independent peers: a list of the Python peer (python3-thrift)
 * and the C++ peer (libthrift) is balanced over both (an undeclared error tells them apart:
 * INTERNAL_ERROR from Python, UNKNOWN from C++); when the Python peer dies, no call fails (its
 * refused connects go to the C++ peer) and it is ejected; an idempotent call cut by its death
 * is sent again on the C++ peer.
 *
 * Runs under `deno test -A tests/endpoints_peers_test.ts` and `bun test tests/endpoints_peers_test.ts`.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { ThriftClient } from "../mod.ts";
import { Calculator } from "./helpers/calculator.ts";
import { cppPeerAvailable, startCppPeer } from "./helpers/cpp_peer.ts";
import { pythonThriftAvailable, startPythonPeer } from "./helpers/python_peer.ts";

const T = { timeout: 240_000 }; // the C++ peer may be compiled first
const PYTHON = 6; // TApplicationException INTERNAL_ERROR
const CPP = 0; // TApplicationException UNKNOWN

/** Waits until nothing accepts a connection on the port any more. */
async function refusing(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (!accepted) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`port ${port} still accepts connections`);
}

/** Which peer answered an undeclared error. */
async function whoAnswers(call: () => Promise<unknown>): Promise<number> {
  const error = await call().then(() => undefined, (e: unknown) => e);
  return (error as { type: number }).type;
}

describe("several endpoints, Python and C++ peers", {
  skip: pythonThriftAvailable() && cppPeerAvailable() ? false : "the Python or C++ peer is missing",
}, () => {
  it("balances over both; a dead peer's calls go to the other, and it is ejected", T, async () => {
    const python = await startPythonPeer({ transport: "tcp", protocol: "compact" });
    await using cpp = await startCppPeer({ transport: "tcp", protocol: "compact" });
    const thrift = new ThriftClient(Calculator.Client, {
      transport: [python.url, cpp.url],
      protocol: "compact",
    });
    const seen = new Set<number>();
    for (let i = 0; i < 30; i++) seen.add(await whoAnswers(() => thrift.client.crash()));
    assert.deepEqual([...seen].sort(), [CPP, PYTHON]);
    await python[Symbol.asyncDispose](); // the Python peer dies
    await refusing(python.port!); // its backlog may still take a connect for a moment
    for (let i = 0; i < 30; i++) assert.equal(await thrift.client.add(i, 1), i + 1);
    const [dead, alive] = thrift.endpoints!;
    assert.equal(dead!.state, "ejected");
    assert.equal(alive!.state, "healthy");
    await thrift.close();
  });

  it("an idempotent call cut by a peer's death is sent again on the other", T, async () => {
    const python = await startPythonPeer({ transport: "tcp", protocol: "binary" });
    await using cpp = await startCppPeer({ transport: "tcp", protocol: "binary" });
    const thrift = new ThriftClient(Calculator.Client, {
      transport: [python.url, cpp.url],
      idempotent: ["sleep"],
    });
    let answer: unknown;
    for (let tries = 0; tries < 50 && answer === undefined; tries++) {
      await using conn = thrift.connect();
      if (await whoAnswers(() => conn.client.crash()) !== PYTHON) continue; // on the C++ peer
      const slow = thrift.client.sleep(800); // on the Python peer, through this scope
      await new Promise((resolve) => setTimeout(resolve, 200));
      await python[Symbol.asyncDispose](); // dies with the call in flight
      answer = await slow;
    }
    assert.equal(answer, 800); // answered by the C++ peer
    await thrift.close();
  });
});
