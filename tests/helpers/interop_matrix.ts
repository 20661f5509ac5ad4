/**
 * The interop matrix run against each independent peer (`interop_python_test.ts`,
 * `interop_cpp_test.ts`): every socket transport × protocol × framing, http(s) × protocol,
 * zlib, and multiplexed services, each cell a full `exercise()` against a fresh peer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThriftClient, type ThriftClientOptions } from "../../mod.ts";
import { Calculator, Greeter } from "./calculator.ts";
import { testCerts } from "./certs.ts";
import { exercise } from "./exercise.ts";
import type { CommonPeerOptions } from "./peer_process.ts";

/** A peer transport. */
export type Transport = CommonPeerOptions["transport"];
/** What a cell varies besides the transport; TLS options come from the cell. */
export type CellFlags = Omit<CommonPeerOptions, "transport">;
const PROTOCOLS = ["binary", "compact", "json"] as const;
const SECURE = new Set<Transport>(["tcps", "unixs", "https"]);

/** What the matrix needs of a running peer. */
export interface MatrixPeer {
  url: string;
  stderr(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** One peer's side of the matrix. */
export interface InteropMatrix<O extends CommonPeerOptions> {
  /** Names the suite `${name} interop matrix` and the peer's stderr in failure messages. */
  name: string;
  /** Why the peer's tests are skipped, or false when the peer is available. */
  skip: string | false;
  start(opts: O): Promise<MatrixPeer>;
  /** Peer options every cell on `transport` adds. */
  peerOptions?: (transport: Transport) => Partial<O>;
  /** Client options every cell on `transport` adds. */
  clientOptions?: (transport: Transport) => Partial<ThriftClientOptions>;
  /** Follows the zlib cells' names, e.g. ` (C++ ends each message with a full flush)`. */
  zlibNote?: string;
  /** Registers tests that run before the cells, inside the suite. */
  first?: () => void;
}

/** Peer and client options for one cell. */
export interface Cell<O> {
  peerOptions: O;
  client: ThriftClientOptions;
}

/** Makes the peer and client options for one cell; TLS cells use the test CA. */
export type CellMaker<O extends CommonPeerOptions> = (
  transport: Transport,
  peer?: CellFlags,
) => Cell<O>;

/**
 * Registers the suite `${matrix.name} interop matrix` with `describe` / `it`.
 *
 * @param matrix the peer to run against and its per-peer details
 * @returns the cell maker, for the peer's own tests
 */
export function defineInteropMatrix<O extends CommonPeerOptions>(
  matrix: InteropMatrix<O>,
): CellMaker<O> {
  const T = { timeout: 30_000, skip: matrix.skip };

  const cell: CellMaker<O> = (transport, peer = {}) => {
    const certs = matrix.skip === false ? testCerts() : undefined;
    const tls = SECURE.has(transport) && certs
      ? { cert: certs.serverCert, key: certs.serverKey }
      : undefined;
    // O adds only optional fields to CommonPeerOptions (see `peerOptions` for the ones set here)
    const peerOptions = {
      transport,
      ...peer,
      ...(tls ? { tls } : {}),
      ...matrix.peerOptions?.(transport),
    } as O;
    const client: ThriftClientOptions = {
      protocol: peer.protocol ?? "binary",
      framed: peer.framed ?? false,
      zlib: peer.zlib ?? false,
      ...(tls ? { ssl: { caCerts: certs!.caCert } } : {}),
      ...matrix.clientOptions?.(transport),
    };
    return { peerOptions, client };
  };

  const runCell = async (transport: Transport, peer: CellFlags) => {
    const { peerOptions, client } = cell(transport, peer);
    await using server = await matrix.start(peerOptions);
    const thrift = new ThriftClient(Calculator.Client, {
      transport: server.url,
      ...client,
      ...(peer.multiplex ? { service: "Calculator" } : {}),
    });
    try {
      await using conn = thrift.connect();
      await exercise(conn.client);
      if (peer.multiplex) {
        const greeter = new ThriftClient(Greeter.Client, {
          transport: server.url,
          ...client,
          service: "Greeter",
        });
        assert.equal(await greeter.client.greet("ünï"), "hello ünï");
      }
    } catch (error) {
      const log = server.stderr().trim();
      if (log && error instanceof Error) {
        error.message += `\n--- ${matrix.name} stderr ---\n${log}`;
      }
      throw error;
    }
  };

  describe(`${matrix.name} interop matrix`, () => {
    matrix.first?.();
    for (const transport of ["tcp", "unix", "tcps", "unixs"] as const) {
      for (const protocol of PROTOCOLS) {
        for (const framed of [false, true]) {
          it(`${transport} ${protocol} ${framed ? "framed" : "unframed"}`, T, async () => {
            await runCell(transport, { protocol, framed });
          });
        }
      }
    }
    for (const transport of ["http", "https"] as const) {
      for (const protocol of PROTOCOLS) {
        it(`${transport} ${protocol}`, T, async () => {
          await runCell(transport, { protocol });
        });
      }
    }
    for (const transport of ["tcp", "unix"] as const) {
      for (const protocol of ["binary", "compact"] as const) {
        it(`${transport} ${protocol} zlib${matrix.zlibNote ?? ""}`, T, async () => {
          await runCell(transport, { protocol, zlib: true });
        });
      }
    }
    it("tcps compact framed zlib", T, async () => {
      await runCell("tcps", { protocol: "compact", framed: true, zlib: true });
    });
    for (const transport of ["tcp", "unix", "tcps", "https"] as const) {
      it(`${transport} multiplexed`, T, async () => {
        await runCell(transport, { protocol: "compact", multiplex: true });
      });
    }
  });

  return cell;
}
