/**
 * Test certificates made with `openssl` at test time: a CA, a server certificate for
 * localhost / 127.0.0.1 / ::1 signed by it, a client certificate signed by it (mutual TLS),
 * an unrelated second CA, and a self-signed server certificate.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Paths (and PEM text) of the generated files. */
export interface TestCerts {
  dir: string;
  caCert: string;
  caPem: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherCaCert: string;
  selfSignedCert: string;
  selfSignedKey: string;
  [Symbol.dispose](): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** A new 2048-bit RSA key in `${name}.key`, no passphrase, and a certificate for `cn`. */
function newKey(name: string, cn: string): string[] {
  return ["-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", `${name}.key`];
}

/** A self-signed certificate `${name}.crt`, valid 2 days, with `-addext` extensions. */
function makeSelfSigned(dir: string, name: string, cn: string, extensions: string[]): void {
  openssl(dir, [
    "req",
    "-x509",
    ...newKey(name, cn),
    "-days",
    "2",
    "-out",
    `${name}.crt`,
    ...extensions.flatMap((ext) => ["-addext", ext]),
  ]);
}

function makeCa(dir: string, name: string): void {
  makeSelfSigned(dir, name, name, [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

function makeLeaf(dir: string, name: string, ca: string, ext: string): void {
  openssl(dir, ["req", ...newKey(name, name), "-out", `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    `${name}.crt`,
    "-extfile",
    `${name}.ext`,
  ]);
}

/** Makes every file in a scratch folder, then moves it into place whole. */
function generate(target: string): void {
  const dir = mkdtempSync(`${target}-new-`);
  makeCa(dir, "ca");
  makeCa(dir, "otherca");
  makeLeaf(
    dir,
    "server",
    "ca",
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n",
  );
  makeLeaf(dir, "client", "ca", "extendedKeyUsage=clientAuth\n");
  makeSelfSigned(dir, "self", "localhost", ["subjectAltName=DNS:localhost,IP:127.0.0.1"]);
  try {
    renameSync(dir, target);
  } catch {
    rmSync(dir, { recursive: true, force: true }); // another process made it first
  }
}

let cached: TestCerts | undefined;

/** Makes the certificates once per process; later calls return the same set. */
export function testCerts(): TestCerts {
  if (cached) return cached;
  // One set per day, shared by the test processes (deno test runs no exit hooks to clean up)
  const dir = join(tmpdir(), `thrift-client-test-certs-${new Date().toISOString().slice(0, 10)}`);
  if (!existsSync(join(dir, "self.crt"))) generate(dir);
  const path = (f: string) => join(dir, f);
  cached = {
    dir,
    caCert: path("ca.crt"),
    caPem: readFileSync(path("ca.crt"), "utf8"),
    serverCert: path("server.crt"),
    serverKey: path("server.key"),
    clientCert: path("client.crt"),
    clientKey: path("client.key"),
    otherCaCert: path("otherca.crt"),
    selfSignedCert: path("self.crt"),
    selfSignedKey: path("self.key"),
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
      cached = undefined;
    },
  };
  return cached;
}
