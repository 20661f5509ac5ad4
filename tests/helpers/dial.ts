/**
 * Dialing the runtime adapter, through `runtime()` only, and recording what the stream
 * delivers: the tools of the runtime adapter tests.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ConnectError } from "../../src/errors.ts";
import { runtime } from "../../src/runtime/detect.ts";
import type {
  ByteStream,
  DialTarget,
  StreamHandlers,
  TlsSettings,
} from "../../src/transport/byte_stream.ts";
import { CA, type TestServer } from "./echo_servers.ts";
import { until } from "./within.ts";

/** Handlers that record what a stream delivers. */
export function recorder(): StreamHandlers & {
  chunks: Uint8Array[];
  closes: (Error | undefined)[];
  closed: Promise<Error | undefined>;
  bytes(n: number): Promise<Uint8Array>;
} {
  const chunks: Uint8Array[] = [];
  const closes: (Error | undefined)[] = [];
  const closed = Promise.withResolvers<Error | undefined>();
  let total = 0;
  let waiter: { n: number; resolve: () => void } | undefined;
  return {
    chunks,
    closes,
    closed: closed.promise,
    onData(chunk) {
      chunks.push(chunk.slice());
      total += chunk.length;
      if (waiter && total >= waiter.n) waiter.resolve();
    },
    onClose(error) {
      closes.push(error);
      closed.resolve(error);
    },
    async bytes(n) {
      if (total < n) {
        await new Promise<void>((resolve) => waiter = { n, resolve });
      }
      return new Uint8Array(Buffer.concat(chunks));
    },
  };
}

/** A tcp (or, with `tls`, tcps) target. */
export function tcp(port: number, tls?: TlsSettings, host = "127.0.0.1"): DialTarget {
  return {
    kind: "tcp",
    host,
    port,
    tls,
    label: `tcp${tls ? "s" : ""}://${host}:${port}`,
  };
}

/** A unix (or, with `tls`, unixs) target. */
export function unix(path: string, tls?: TlsSettings): DialTarget {
  return { kind: "unix", path, tls, label: `unix${tls ? "s" : ""}://${path}` };
}

/** Dials with the runtime's dialer, giving up after 5 s. */
export const dial = (
  target: DialTarget,
  handlers: StreamHandlers,
): Promise<ByteStream> => runtime().dial(target, handlers, AbortSignal.timeout(5_000));

/** `size` bytes in a pattern that does not repeat every 256. */
export const patterned = (size: number): Uint8Array =>
  Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 8)) & 0xff);

/** Writes, reads the echo back, checks it, closes, and waits for the server to let go. */
export async function roundTrip(
  target: DialTarget,
  server: TestServer,
  size: number,
): Promise<void> {
  const rec = recorder();
  const stream = await dial(target, rec);
  const sent = patterned(size);
  const scratch = new Uint8Array(65_536); // reused on purpose: write must not keep it
  for (let off = 0; off < size; off += scratch.length) {
    const part = sent.subarray(off, off + scratch.length);
    scratch.set(part);
    stream.write(scratch.subarray(0, part.length));
  }
  const got = await rec.bytes(size);
  assert.equal(got.length, size);
  assert.ok(Buffer.from(got).equals(Buffer.from(sent)), "bytes differ");
  stream.close();
  assert.deepEqual(rec.closes, [undefined]);
  await until("the server saw the close", () => server.live() === 0);
}

/** Checks that dialing `target` fails with a ConnectError matching `pattern`. */
export async function rejectsConnect(
  target: DialTarget,
  pattern: RegExp,
): Promise<ConnectError> {
  const rec = recorder();
  const error = await dial(target, rec).then(
    () => assert.fail("dial should have failed"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectError, `not a ConnectError: ${error}`);
  assert.match(error.message, pattern);
  assert.ok(error.message.startsWith(`Cannot connect to "${target.label}": `));
  assert.ok(error.cause !== undefined);
  assert.equal(rec.closes.length, 0);
  return error;
}

/** TLS settings that validate the server against `ca` (default: the test CA). */
export const verified = (serverName: string, ca: string | undefined = CA): TlsSettings => ({
  validate: true,
  ca,
  serverName,
});

/** TLS settings that accept any server certificate. */
export const LOOSE: TlsSettings = { validate: false, serverName: "localhost" };
