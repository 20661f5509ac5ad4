import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, type ServiceClientClass, ThriftClient } from "../mod.ts";
import { resolveConfig } from "../src/config.ts";
import { Calculator, Greeter } from "./helpers/calculator.ts";

type Loose = Record<string, unknown>;

function configError(run: () => unknown, pattern: RegExp): ConfigError {
  let caught: unknown;
  assert.throws(run, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${caught}`);
  assert.match(caught.message, pattern);
  return caught;
}

const rejects = (config: Loose, pattern: RegExp): ConfigError =>
  configError(() => resolveConfig(config), pattern);

/** Asserts the secret is nowhere in what a log line of the error could show. */
function hides(error: Error, secret: string): void {
  for (const text of [error.message, String(error.cause ?? ""), error.stack ?? ""]) {
    assert.ok(!text.includes(secret), `secret shown in: ${text}`);
  }
}

describe("pool settings", { timeout: 10_000 }, () => {
  const defaults = {
    max: 10,
    idleTimeout: 30_000,
    maxLifetime: Infinity,
    acquireTimeout: 10_000,
    pipelining: 1,
  };

  it("is off by default and with pool: false", () => {
    assert.equal(resolveConfig({}).pool, undefined);
    assert.equal(resolveConfig({ pool: false }).pool, undefined);
    assert.equal(resolveConfig({ THRIFTCLIENT_POOL: "false" }).pool, undefined);
  });

  it("is on with the defaults for pool: true, an object or THRIFTCLIENT_POOL", () => {
    assert.deepEqual(resolveConfig({ pool: true }).pool, defaults);
    assert.deepEqual(resolveConfig({ pool: {} }).pool, defaults);
    assert.deepEqual(resolveConfig({ THRIFTCLIENT_POOL: "True" }).pool, defaults);
    assert.deepEqual(resolveConfig({ pool: { max: 3 } }).pool, { ...defaults, max: 3 });
  });

  it("reads the THRIFTCLIENT_POOL_* keys as strings", () => {
    const pool = resolveConfig({
      THRIFTCLIENT_POOL: "1",
      THRIFTCLIENT_POOL_MAX: "4",
      THRIFTCLIENT_POOL_IDLE_TIMEOUT: "500",
      THRIFTCLIENT_POOL_MAX_LIFETIME: "60000",
      THRIFTCLIENT_POOL_ACQUIRE_TIMEOUT: "250",
      THRIFTCLIENT_POOL_PIPELINING: "16",
    }).pool;
    assert.deepEqual(pool, {
      max: 4,
      idleTimeout: 500,
      maxLifetime: 60_000,
      acquireTimeout: 250,
      pipelining: 16,
    });
  });

  it("lets camelCase win field by field, and pool: false win over THRIFTCLIENT_POOL", () => {
    const pool = resolveConfig({
      pool: { max: 2 },
      THRIFTCLIENT_POOL_MAX: "5",
      THRIFTCLIENT_POOL_IDLE_TIMEOUT: "100",
    }).pool;
    assert.deepEqual(pool, { ...defaults, max: 2, idleTimeout: 100 });
    assert.equal(resolveConfig({ pool: false, THRIFTCLIENT_POOL: "true" }).pool, undefined);
    assert.equal(resolveConfig({ pool: true, THRIFTCLIENT_POOL: "false" }).pool?.max, 10);
  });

  it("keeps the settings on http(s) endpoints", () => {
    const endpoint = resolveConfig({ transport: "https://h/rpc", pool: { max: 7 } });
    assert.equal(endpoint.pool?.max, 7);
  });

  it("rejects invalid values, naming the key and the value", () => {
    rejects(
      { THRIFTCLIENT_POOL_MAX: "0" },
      /THRIFTCLIENT_POOL_MAX "0": expected a positive integer/,
    );
    rejects({ THRIFTCLIENT_POOL_MAX: "2.5" }, /THRIFTCLIENT_POOL_MAX "2.5"/);
    rejects({ pool: { max: "many" } }, /pool.max "many"/);
    rejects({ pool: { idleTimeout: -1 } }, /pool.idleTimeout -1/);
    rejects({ pool: { pipelining: 0 } }, /pool.pipelining 0.*positive integer/);
    rejects({ THRIFTCLIENT_POOL_PIPELINING: "2.5" }, /THRIFTCLIENT_POOL_PIPELINING "2.5"/);
    rejects({ THRIFTCLIENT_POOL: "maybe" }, /THRIFTCLIENT_POOL "maybe": expected true or false/);
    rejects(
      { THRIFTCLIENT_POOL_ACQUIRE_TIMEOUT: "soon" },
      /THRIFTCLIENT_POOL_ACQUIRE_TIMEOUT "soon"/,
    );
    rejects(
      { pool: { maxLifetime: 2 ** 31 } },
      /pool.maxLifetime 2147483648: at most 2147483647 ms/,
    );
    rejects({ pool: { maxx: 1 } }, /Unknown option "pool.maxx": did you mean "pool.max"\?/);
  });

  it("accepts an explicit Infinity as no maxLifetime", () => {
    assert.equal(resolveConfig({ pool: { maxLifetime: Infinity } }).pool?.maxLifetime, Infinity);
  });
});

describe("timer limits", { timeout: 10_000 }, () => {
  it("rejects timeouts above 2^31-1 ms, saying the limit", () => {
    rejects({ timeout: 2 ** 31 }, /Invalid timeout 2147483648: at most 2147483647 ms/);
    rejects(
      { THRIFTCLIENT_CONNECT_TIMEOUT: "3000000000" },
      /THRIFTCLIENT_CONNECT_TIMEOUT "3000000000".*2147483647/,
    );
    rejects({ pool: { idleTimeout: 1e10 } }, /pool.idleTimeout.*2147483647/);
  });

  it("accepts exactly 2^31-1 ms and leaves maxMessageSize unbounded", () => {
    const endpoint = resolveConfig({ timeout: 2 ** 31 - 1, maxMessageSize: 2 ** 32 });
    assert.equal(endpoint.timeout, 2 ** 31 - 1);
    assert.equal(endpoint.maxMessageSize, 2 ** 32);
  });
});

describe("unknown keys", { timeout: 10_000 }, () => {
  it("rejects an unknown THRIFTCLIENT_* key, naming the closest known one", () => {
    rejects(
      { THRIFTCLIENT_TRANSPRT: "tcp://h:1" },
      /^Unknown key "THRIFTCLIENT_TRANSPRT": did you mean "THRIFTCLIENT_TRANSPORT"\?$/,
    );
    rejects({ THRIFTCLIENT_POOL_MAXX: "3" }, /did you mean "THRIFTCLIENT_POOL_MAX"/);
    rejects({ THRIFTCLIENT_SSL_VALIDATION: "0" }, /did you mean "THRIFTCLIENT_SSL_VALIDATE"/);
  });

  it("ignores keys without the prefix, as an environment has many", () => {
    const endpoint = resolveConfig({ PATH: "/bin", HOME: "/root", THRIFTCLIENT_TIMEOUT: "5" });
    assert.equal(endpoint.timeout, 5);
  });

  it("rejects a non-string value under a near miss of an option name", () => {
    rejects({ timout: 5 }, /^Unknown option "timout": did you mean "timeout"\?$/);
    rejects({ Framed: true }, /did you mean "framed"/);
    rejects({ connectTimout: 5 }, /did you mean "connectTimeout"/);
    const other: Loose = { timout: "5", unrelated: 1, TERM: "xterm" };
    assert.equal(resolveConfig(other).timeout, 30_000);
  });

  it("rejects an unknown ssl option with a suggestion", () => {
    rejects(
      { ssl: { validte: false } },
      /Unknown option "ssl.validte": did you mean "ssl.validate"\?/,
    );
  });

  it("makes fromEnv fail on a mistyped THRIFTCLIENT_ variable", async () => {
    const { env } = await import("node:process");
    env.THRIFTCLIENT_TIMOUT = "5000";
    try {
      configError(
        () => ThriftClient.fromEnv(Calculator.Client),
        /did you mean "THRIFTCLIENT_TIMEOUT"/,
      );
    } finally {
      delete env.THRIFTCLIENT_TIMOUT;
    }
  });
});

describe("secrets in messages", { timeout: 10_000 }, () => {
  it("never shows a URL password with reserved characters", () => {
    for (const password of ["hun#ter2", "hun?ter2", "hun/ter2", "hun@ter2"]) {
      for (const scheme of ["tcp", "tcps", "http", "ftp"]) {
        const transport = `${scheme}://me:${password}@host:99999/`;
        for (const config of [{ transport }, { THRIFTCLIENT_TRANSPORT: transport }]) {
          hides(configError(() => resolveConfig(config), /transport/), "ter2");
        }
      }
    }
  });

  it("never shows the password of tcp://u:p#ss@h:1, nor one with an @ in the label", () => {
    hides(configError(() => resolveConfig({ transport: "tcp://u:p#ss@h:1" }), /transport/), "p#ss");
    const endpoint = resolveConfig({ transport: "tcp://u:hun@ter2@host:1" });
    assert.equal(endpoint.label, "tcp://host:1");
  });

  it("never echoes key material that is neither PEM nor a readable path", () => {
    const material = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7/s3cr3tK3y+Mat3r1al==";
    const cases: Array<[Loose, RegExp]> = [
      [
        { ssl: { key: material } },
        /^Cannot read ssl.key: not PEM text and not a readable file path/,
      ],
      [{ ssl: { cert: material } }, /^Cannot read ssl.cert: .*value not shown/],
      [{ THRIFTCLIENT_SSL_KEY: material }, /^Cannot read THRIFTCLIENT_SSL_KEY: /],
      [{ THRIFTCLIENT_SSL_CA_CERTS: material }, /^Cannot read THRIFTCLIENT_SSL_CA_CERTS: /],
      [{ ssl: { key: new TextEncoder().encode(material) } }, /^Invalid ssl.key: .*Uint8Array/],
    ];
    for (const [config, pattern] of cases) {
      const error = rejects({ transport: "tcps://h:1", ...config }, pattern);
      assert.equal(error.cause, undefined);
      hides(error, "s3cr3tK3y");
    }
  });

  it("still names a missing file path", () => {
    const error = rejects(
      { ssl: { key: "/no/such/client.key" } },
      /Cannot read ssl.key "\/no\/such\/client.key"/,
    );
    assert.ok(error.cause instanceof Error);
  });
});

describe("the service client class", { timeout: 10_000 }, () => {
  const attempt = (value: unknown) => () => new ThriftClient(value as typeof Calculator.Client);

  it("accepts generated client classes", async () => {
    for (const Client of [Calculator.Client, Greeter.Client] as ServiceClientClass<unknown>[]) {
      const thrift = new ThriftClient(Client, { alwaysConnect: false });
      assert.equal(thrift.transport.state, "idle");
      await thrift.close();
    }
  });

  it("rejects the generated module, saying what to pass", () => {
    configError(
      attempt(Calculator),
      /^Invalid service client: got the generated module \(an object with "Client" and "Processor"\); expected the generated client class, such as Calculator.Client$/,
    );
  });

  it("rejects a Processor, an empty object, undefined and other functions", () => {
    configError(
      attempt(Calculator.Processor),
      /got a Processor class .*expected the generated client class/,
    );
    configError(attempt({}), /got an empty object; expected/);
    configError(attempt({ a: 1 }), /got an object with keys "a"; expected/);
    configError(attempt(undefined), /got undefined; expected/);
    configError(attempt(null), /got null; expected/);
    configError(attempt(() => {}), /got a function \(an anonymous function\)/);
    configError(
      attempt(class Foo {}),
      /got a function \("Foo"\) with no send_\/recv_ method pairs/,
    );
    configError(attempt("Calculator"), /got a string; expected/);
  });

  it("checks the class before the options", () => {
    configError(() => new ThriftClient(Calculator as never, { protocol: "XML" }), /service client/);
  });
});
