/**
 * A real DNS server for tests: Debian's `dnsmasq` on 127.0.0.1 and a free port, serving only
 * the records a test sets (an `--addn-hosts` file in a temp dir; no /etc/hosts, no
 * /etc/resolv.conf, no upstream). Names it does not know get NXDOMAIN (or REFUSED, when asked).
 *
 * dnsmasq runs under a small `sh` watchdog that kills it when its stdin closes, so it dies
 * with the test process even when that one crashes or exits without disposing of it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const READY_TIMEOUT_MS = 5_000;
const CHANGE_TIMEOUT_MS = 5_000;
const KILL_GRACE_MS = 2_000;
const STDERR_LIMIT = 8_192;

/**
 * Runs `"$@"` (dnsmasq) and prints its pid; kills it once stdin (kept as fd 3: a background
 * job's stdin is /dev/null) reaches its end. Only this shell reaps dnsmasq, so its pid stays
 * valid for `kill` while the reader can still use it.
 */
const WATCHDOG = `
exec 3<&0 </dev/null
"$@" &
child=$!
echo "PID $child"
(cat <&3; kill "$child") >/dev/null 2>&1 &
reader=$!
exec 3<&-
wait "$child"
status=$?
kill "$reader" 2>/dev/null
exit "$status"
`;

let binary: string | null | undefined;

/** The dnsmasq executable: on PATH, else Debian's /usr/sbin (not on a user's PATH). */
function dnsmasqBinary(): string | null {
  if (binary === undefined) {
    binary = null;
    for (const candidate of ["dnsmasq", "/usr/sbin/dnsmasq"]) {
      try {
        const run = spawnSync(candidate, ["--version"], { stdio: "ignore", timeout: 10_000 });
        if (run.status === 0) {
          binary = candidate;
          break;
        }
      } catch { /* not this one */ }
    }
  }
  return binary;
}

/** True when `dnsmasq` runs (Debian: `apt-get install dnsmasq`). Cached. */
export function dnsmasqAvailable(): boolean {
  return dnsmasqBinary() !== null;
}

/** What `startDnsmasq` serves. */
export interface DnsmasqOptions {
  /** Names and their addresses (IPv4 and IPv6 alike) served from the start. */
  records?: Record<string, readonly string[]>;
  /**
   * How unknown names are answered: NXDOMAIN (an authoritative "no such name") or REFUSED
   * (what a server with no upstream says). Default "nxdomain".
   */
  unknown?: "nxdomain" | "refused";
}

/** A running dnsmasq; `await using` stops it. */
export interface Dnsmasq {
  /** `127.0.0.1:PORT`, as `Runtime.resolve` takes it. */
  readonly server: string;
  /** The UDP and TCP port. */
  readonly port: number;
  /** The dnsmasq process id, to check that it is gone after disposal. */
  readonly pid: number;
  /**
   * Sets the addresses of `name` (none removes it): rewrites the hosts file, sends SIGHUP,
   * then waits until a query sees the change.
   */
  setRecords(name: string, addresses: readonly string[]): Promise<void>;
  /** Stops dnsmasq (SIGTERM via its watchdog, SIGKILL after 2 s) and removes the temp dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** A port free on 127.0.0.1 a moment ago (dnsmasq binds it for UDP and TCP; a clash is retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Starts dnsmasq serving `options.records` and waits until it answers.
 *
 * @throws {Error} When dnsmasq is missing, exits, or does not answer in time (with its stderr).
 */
export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<Dnsmasq> {
  const command = dnsmasqBinary();
  if (command === null) throw new Error("dnsmasq is not installed");
  const dir = mkdtempSync(join(tmpdir(), "thrift-dnsmasq-"));
  const records = new Map<string, readonly string[]>(Object.entries(options.records ?? {}));
  const hostsFile = join(dir, "hosts");
  const writeHosts = (): void => {
    const lines = [...records].flatMap(([name, addresses]) =>
      addresses.map((a) => `${a} ${name}\n`)
    );
    writeFileSync(`${hostsFile}.new`, lines.join(""));
    renameSync(`${hostsFile}.new`, hostsFile); // dnsmasq never reads half a file
  };
  writeHosts();
  try {
    for (let attempt = 1;; attempt++) {
      const port = await freePort();
      const started = await launch(command, dnsmasqArgs(port, hostsFile, options), port);
      if (started.ok) return running(started, port, records, writeHosts, dir);
      if (attempt >= 5 || !/address already in use/i.test(started.stderr)) {
        throw new Error(`dnsmasq did not start: ${started.why}\n--- stderr ---\n${started.stderr}`);
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function dnsmasqArgs(port: number, hostsFile: string, options: DnsmasqOptions): string[] {
  const args = [
    "--keep-in-foreground",
    "--conf-file=/dev/null", // not Debian's /etc/dnsmasq.conf (nor /etc/dnsmasq.d)
    "--no-resolv",
    "--no-poll",
    "--no-hosts",
    `--addn-hosts=${hostsFile}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    `--port=${port}`,
    "--local-ttl=1",
    "--no-negcache",
    "--pid-file", // none
    "--log-facility=-",
  ];
  // As root, dnsmasq drops to user "dnsmasq", who cannot read the (0700) temp dir.
  if (process.getuid?.() === 0) args.push("--user=root");
  if ((options.unknown ?? "nxdomain") === "nxdomain") args.push("--local=/#/");
  return args;
}

type Launch =
  | { ok: true; child: ChildProcess; pid: number; exited: Promise<void>; stderr(): string }
  | { ok: false; why: string; stderr: string };

/** Spawns dnsmasq under the watchdog; ready once it answers a query on `port`. */
async function launch(command: string, args: string[], port: number): Promise<Launch> {
  const child = spawn("sh", ["-c", WATCHDOG, "sh", command, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  let gone: string | undefined;
  let pid = 0;
  child.stdin!.on("error", () => {}); // a watchdog that died must not crash the test process
  child.stderr!.setEncoding("utf8");
  child.stderr!.on(
    "data",
    (chunk: string) => void (stderr = (stderr + chunk).slice(-STDERR_LIMIT)),
  );
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    const match = /PID (\d+)/.exec(chunk);
    if (match) pid = Number(match[1]);
  });
  const exited = new Promise<void>((resolve) => {
    child.on("error", (error) => {
      gone ??= error.message;
      resolve();
    });
    child.on("close", (code, signal) => {
      gone ??= `exited with ${signal ?? `code ${code}`}`;
      resolve();
    });
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (gone === undefined && Date.now() < deadline) {
    if (pid > 0 && (await query(port, "ready.invalid", "A", 200)) !== undefined) {
      return { ok: true, child, pid, exited, stderr: () => stderr };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop(child, exited);
  return { ok: false, why: gone ?? `no answer within ${READY_TIMEOUT_MS} ms`, stderr };
}

/** Closes the watchdog's stdin (it kills dnsmasq), then SIGKILLs both if they linger. */
async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  child.stdin?.end();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((r) => timer = setTimeout(() => r(true), KILL_GRACE_MS));
  if (await Promise.race([exited.then(() => false), late])) child.kill("SIGKILL");
  clearTimeout(timer);
  await exited;
}

function running(
  started: Extract<Launch, { ok: true }>,
  port: number,
  records: Map<string, readonly string[]>,
  writeHosts: () => void,
  dir: string,
): Dnsmasq {
  let disposed: Promise<void> | undefined;
  return {
    server: `127.0.0.1:${port}`,
    port,
    pid: started.pid,
    async setRecords(name, addresses): Promise<void> {
      if (addresses.length === 0) records.delete(name);
      else records.set(name, [...addresses]);
      writeHosts();
      process.kill(started.pid, "SIGHUP"); // rereads --addn-hosts and clears its cache
      const want = normalized(addresses);
      const deadline = Date.now() + CHANGE_TIMEOUT_MS;
      for (;;) {
        const [a, aaaa] = await Promise.all([query(port, name, "A"), query(port, name, "AAAA")]);
        const seen = normalized([...a?.addresses ?? [], ...aaaa?.addresses ?? []]);
        if (a && aaaa && seen.join() === want.join()) return;
        if (Date.now() > deadline) {
          throw new Error(
            `dnsmasq did not serve ${name} = [${want}] within ${CHANGE_TIMEOUT_MS} ms ` +
              `(it serves [${seen}])\n--- stderr ---\n${started.stderr()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    [Symbol.asyncDispose](): Promise<void> {
      disposed ??= stop(started.child, started.exited).finally(() =>
        rmSync(dir, { recursive: true, force: true })
      );
      return disposed;
    },
  };
}

function normalized(addresses: readonly string[]): string[] {
  return addresses.map((a) => (a.includes(":") ? v6Text(v6Bytes(a)) : a)).sort();
}

/** What dnsmasq answered: the response code and the addresses of the type asked for. */
interface Reply {
  readonly rcode: number;
  readonly addresses: string[];
}

/**
 * Asks 127.0.0.1:`port` over UDP, with no DNS library (so the harness does not depend on the
 * code under test). Resolves undefined when no reply comes within `ms`.
 */
export function query(
  port: number,
  name: string,
  type: "A" | "AAAA",
  ms = 500,
): Promise<Reply | undefined> {
  const qtype = type === "A" ? 1 : 28;
  const id = Math.floor(Math.random() * 0x10000);
  const labels = name.split(".").filter(Boolean).flatMap((label) => {
    const bytes = new TextEncoder().encode(label);
    return [bytes.length, ...bytes];
  });
  const packet = new Uint8Array([
    id >> 8,
    id & 0xff,
    0x01,
    0x00,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0, // header: RD, one question
    ...labels,
    0,
    0,
    qtype,
    0,
    1, // QNAME, QTYPE, QCLASS IN
  ]);
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const done = (reply: Reply | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), ms);
    socket.on("error", () => done(undefined));
    socket.on("message", (message: Uint8Array) => {
      if (message.length < 12 || ((message[0]! << 8) | message[1]!) !== id) return;
      done(parse(message, qtype));
    });
    socket.send(packet, port, "127.0.0.1");
  });
}

/** The response code and the A or AAAA addresses of a DNS response. */
function parse(message: Uint8Array, qtype: number): Reply {
  const u16 = (at: number): number => (message[at]! << 8) | message[at + 1]!;
  const skipName = (at: number): number => {
    while (at < message.length) {
      const length = message[at]!;
      if (length === 0) return at + 1;
      if ((length & 0xc0) === 0xc0) return at + 2; // a compression pointer ends the name
      at += length + 1;
    }
    return at;
  };
  const addresses: string[] = [];
  let at = skipName(12) + 4;
  for (let answer = 0; answer < u16(6) && at < message.length; answer++) {
    at = skipName(at);
    const type = u16(at);
    const length = u16(at + 8);
    const data = message.subarray(at + 10, at + 10 + length);
    if (type === qtype && qtype === 1 && length === 4) addresses.push(data.join("."));
    if (type === qtype && qtype === 28 && length === 16) addresses.push(v6Text(data));
    at += 10 + length;
  }
  return { rcode: message[3]! & 0x0f, addresses };
}

/** An IPv6 address in RFC 5952 text (the longest run of zero groups as `::`). */
function v6Text(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let start = -1;
  let length = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > length) [start, length] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  return start < 0
    ? hex.join(":")
    : `${hex.slice(0, start).join(":")}::${hex.slice(start + length).join(":")}`;
}

/** The 16 bytes of an IPv6 address written without an IPv4 tail. */
function v6Bytes(text: string): Uint8Array {
  const [head = "", tail] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return new Uint8Array(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}
