/**
 * Starts `tests/peers/typed_server.py` (Apache Thrift's Python server for
 * tests/idl/typed/tutorial.thrift) on a free TCP port, unframed.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPeerProcess } from "./peer_process.ts";

const PYTHON = "/usr/bin/python3";

function here(relative: string): string {
  return decodeURIComponent(new URL(relative, import.meta.url).pathname);
}

/** The typed-test IDL. */
export const TYPED_IDL: string = here("../idl/typed/tutorial.thrift");

/** A running peer; `await using` stops it and removes its generated Python code. */
export interface TypedPeer {
  /** `tcp://127.0.0.1:PORT` */
  url: string;
  /** What the peer wrote to stderr so far. */
  stderr(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts the peer (generating its Python code into a temp dir) and waits until it listens. */
export async function startTypedPeer(
  protocol: "binary" | "compact" | "json" = "binary",
): Promise<TypedPeer> {
  const tempDir = mkdtempSync(join(tmpdir(), "thrift-typed-peer-"));
  const peer = await startPeerProcess(PYTHON, [
    here("../peers/typed_server.py"),
    "--idl",
    TYPED_IDL,
    "--gen-dir",
    join(tempDir, "py"),
    "--protocol",
    protocol,
  ], { label: `python typed peer (${protocol})`, readyTimeoutMs: 30_000, tempDir });
  return {
    url: `tcp://127.0.0.1:${peer.ready}`,
    stderr: peer.stderr,
    [Symbol.asyncDispose]: peer[Symbol.asyncDispose],
  };
}
