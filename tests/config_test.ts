import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, ThriftClient } from "../mod.ts";
import { resolveConfig } from "../src/config.ts";
import { Calculator } from "./helpers/calculator.ts";

const make = (config: Record<string, unknown>) => new ThriftClient(Calculator.Client, config);

function rejects(config: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(() => make(config), (error: unknown) => {
    assert.ok(
      error instanceof ConfigError,
      `expected ConfigError, got ${error}`,
    );
    assert.equal(error.code, "CONFIG");
    assert.match(error.message, pattern);
    return true;
  });
}

describe("transport URLs", () => {
  it("defaults to tcp://localhost:9090 when the transport is absent or undefined", () => {
    for (
      const config of [{}, { transport: undefined }, {
        THRIFTCLIENT_TRANSPORT: undefined,
      }]
    ) {
      const endpoint = resolveConfig(config);
      assert.deepEqual(endpoint.target, {
        kind: "tcp",
        host: "localhost",
        port: 9090,
        label: "tcp://localhost:9090",
      });
    }
  });

  it("parses tcp with a default port and ignores path, query and fragment", () => {
    const a = resolveConfig({ transport: "tcp://127.0.0.1" }).target;
    assert.equal(a?.kind === "tcp" && a.port, 9090);
    const b = resolveConfig({ transport: "tcp://localhost:1234/some/path?x=1#frag" })
      .target;
    assert.equal(b?.kind === "tcp" && `${b.host}:${b.port}`, "localhost:1234");
  });

  it("parses IPv6 literals without brackets in the host", () => {
    const target = resolveConfig({ transport: "tcp://[::1]:9091" }).target;
    assert.equal(target?.kind === "tcp" && target.host, "::1");
    assert.equal(target?.label, "tcp://[::1]:9091");
  });

  it("accepts a URL object", () => {
    const target = resolveConfig({ transport: new URL("tcp://example.com:7") }).target;
    assert.equal(target?.kind === "tcp" && target.port, 7);
  });

  it("parses tcps with TLS that validates by default", () => {
    const target = resolveConfig({ transport: "tcps://localhost:5533/" }).target;
    assert.deepEqual(target?.tls, { validate: true, serverName: "localhost" });
  });

  it("parses unix URLs with no or three slashes and relative paths", () => {
    const path = (transport: string) => {
      const target = resolveConfig({ transport }).target;
      return target?.kind === "unix" ? target.path : undefined;
    };
    assert.equal(path("unix:///tmp/mysocket"), "/tmp/mysocket");
    assert.equal(path("unix:/tmp/mysocket"), "/tmp/mysocket");
    assert.equal(path("unix:./mysocket"), "./mysocket");
  });

  it("uses localhost as the TLS server name for unixs", () => {
    const target = resolveConfig({ transport: "unixs:/tmp/mysocket" }).target;
    assert.equal(target?.tls?.serverName, "localhost");
  });

  it("parses http and https, keeping path and query, dropping the fragment", () => {
    const http = resolveConfig({
      transport: "http://myservice.local/rpc?v=1#x",
    });
    assert.equal(http.httpUrl, "http://myservice.local/rpc?v=1");
    const https = resolveConfig({ transport: "https://127.0.0.1/" });
    assert.equal(https.httpUrl, "https://127.0.0.1/");
    assert.equal(https.httpTls?.validate, true);
  });

  it("turns http credentials into Basic auth and keeps them out of the label", () => {
    const endpoint = resolveConfig({
      transport: "http://user:s3cret@host:8080/rpc",
    });
    assert.equal(endpoint.authorization, "Basic " + btoa("user:s3cret"));
    assert.equal(endpoint.label, "http://host:8080/rpc");
  });

  it("rejects a unix URL with a host part", () => {
    rejects(
      { transport: "unix://tmp/sock" },
      /unix:\/\/tmp\/sock.*no host part/,
    );
  });

  it("rejects empty, null, scheme-less and unknown-scheme transports", () => {
    rejects({ transport: "" }, /Invalid transport ""/);
    rejects({ transport: null }, /Invalid transport null/);
    rejects({ THRIFTCLIENT_TRANSPORT: "" }, /THRIFTCLIENT_TRANSPORT/);
    rejects({ transport: "/tmp/x" }, /"\/tmp\/x".*no scheme/);
    rejects({ transport: "ftp://host/" }, /Unknown transport scheme "ftp:"/);
    rejects({ transport: "tcp://" }, /no host/);
    rejects({ transport: "tcp://host:99999" }, /not a valid URL/);
    rejects({ transport: "unix:" }, /no socket path/);
  });

  it("never shows a password in a ConfigError", () => {
    for (
      const transport of [
        "ftp://me:hunter2@host/",
        "tcp://me:hunter2@host:99999",
      ]
    ) {
      assert.throws(() => make({ transport }), (error: Error) => {
        assert.doesNotMatch(error.message, /hunter2/);
        assert.doesNotMatch(String(error.cause ?? ""), /hunter2/);
        return error instanceof ConfigError;
      });
    }
  });
});

describe("options and seed keys", () => {
  it("reads every THRIFTCLIENT_* key as a string, like an environment", () => {
    const endpoint = resolveConfig({
      THRIFTCLIENT_TRANSPORT: "tcps://db:9999",
      THRIFTCLIENT_PROTOCOL: "compact",
      THRIFTCLIENT_SSL_VALIDATE: "False",
      THRIFTCLIENT_BUFFERED: "True",
      THRIFTCLIENT_ZLIB: "1",
      THRIFTCLIENT_ALWAYS_CONNECT: "false",
      THRIFTCLIENT_FRAMED: "true",
      THRIFTCLIENT_TIMEOUT: "1500",
      THRIFTCLIENT_CONNECT_TIMEOUT: "250",
      THRIFTCLIENT_SERVICE: "Calculator",
      THRIFTCLIENT_SSL_SERVER_NAME: "db.internal",
    });
    assert.equal(endpoint.protocol, "COMPACT");
    assert.equal(endpoint.target?.tls?.validate, false);
    assert.equal(endpoint.target?.tls?.serverName, "db.internal");
    assert.equal(endpoint.buffered, true);
    assert.equal(endpoint.zlib, true);
    assert.equal(endpoint.alwaysConnect, false);
    assert.equal(endpoint.framed, true);
    assert.equal(endpoint.timeout, 1500);
    assert.equal(endpoint.connectTimeout, 250);
    assert.equal(endpoint.service, "Calculator");
  });

  it("lets camelCase options win over seed keys", () => {
    const endpoint = resolveConfig({
      THRIFTCLIENT_TRANSPORT: "tcp://a:1",
      transport: "tcp://b:2",
      THRIFTCLIENT_PROTOCOL: "JSON",
      protocol: ThriftClient.COMPACT,
      THRIFTCLIENT_FRAMED: "true",
      framed: false,
    });
    assert.equal(endpoint.label, "tcp://b:2");
    assert.equal(endpoint.protocol, "COMPACT");
    assert.equal(endpoint.framed, false);
  });

  it("has the documented defaults", () => {
    const endpoint = resolveConfig({});
    assert.equal(endpoint.protocol, "BINARY");
    assert.equal(endpoint.alwaysConnect, true);
    assert.equal(endpoint.framed, false);
    assert.equal(endpoint.zlib, false);
    assert.equal(endpoint.timeout, 30_000);
    assert.equal(endpoint.connectTimeout, 10_000);
    assert.equal(endpoint.maxMessageSize, 16 * 1024 * 1024);
  });

  it("accepts protocol names in any case and the class constants", () => {
    assert.equal(resolveConfig({ protocol: "json" }).protocol, "JSON");
    assert.equal(
      resolveConfig({ protocol: ThriftClient.BINARY }).protocol,
      "BINARY",
    );
    assert.equal(
      resolveConfig({ THRIFTCLIENT_PROTOCOL: "Compact" }).protocol,
      "COMPACT",
    );
  });

  it("rejects an unknown protocol", () => {
    rejects({ protocol: "XML" }, /Unknown protocol "XML"/);
    rejects(
      { THRIFTCLIENT_PROTOCOL: "thrift" },
      /THRIFTCLIENT_PROTOCOL "thrift"/,
    );
  });

  it("rejects junk booleans and numbers, naming the key and the value", () => {
    rejects({ THRIFTCLIENT_ZLIB: "maybe" }, /THRIFTCLIENT_ZLIB "maybe"/);
    rejects(
      { THRIFTCLIENT_ALWAYS_CONNECT: "yes please" },
      /THRIFTCLIENT_ALWAYS_CONNECT/,
    );
    rejects(
      { THRIFTCLIENT_SSL_VALIDATE: "nope" },
      /THRIFTCLIENT_SSL_VALIDATE "nope"/,
    );
    rejects({ THRIFTCLIENT_TIMEOUT: "soon" }, /THRIFTCLIENT_TIMEOUT "soon"/);
    rejects({ timeout: -1 }, /timeout -1/);
    rejects({ connectTimeout: Infinity }, /connectTimeout Infinity/);
  });

  it("rejects zlib over http, saying why", () => {
    rejects(
      { transport: "http://host/", zlib: true },
      /zlib works over tcp and unix/,
    );
    rejects(
      { transport: "https://host/", THRIFTCLIENT_ZLIB: "True" },
      /no Thrift HTTP server/,
    );
  });

  it("reads caCerts from a path or PEM text and rejects an unreadable path", () => {
    const dir = mkdtempSync(join(tmpdir(), "thrift-config-"));
    try {
      const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
      writeFileSync(join(dir, "ca.pem"), pem);
      const fromFile = resolveConfig({
        transport: "tcps://h:1",
        ssl: { caCerts: join(dir, "ca.pem") },
      });
      assert.equal(fromFile.target?.tls?.ca, pem);
      const fromText = resolveConfig({
        transport: "https://h/",
        THRIFTCLIENT_SSL_CA_CERTS: pem,
      });
      assert.equal(fromText.httpTls?.ca, pem);
      rejects(
        {
          transport: "tcps://h:1",
          THRIFTCLIENT_SSL_CA_CERTS: join(dir, "missing.pem"),
        },
        /Cannot read THRIFTCLIENT_SSL_CA_CERTS ".*missing.pem"/,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("ignores ssl options for schemes without TLS", () => {
    const endpoint = resolveConfig({
      transport: "tcp://h:1",
      ssl: { validate: false },
    });
    assert.equal(endpoint.target?.tls, undefined);
  });

  it("never opens a connection in the constructor", async () => {
    const thrift = make({
      transport: "tcp://127.0.0.1:1",
      alwaysConnect: false,
    });
    assert.equal(thrift.transport.isOpen(), false);
    assert.equal(thrift.transport.state, "idle");
    await thrift.close();
  });

  it("fromEnv reads THRIFTCLIENT_* variables, and options override them", async () => {
    const { env } = await import("node:process");
    env.THRIFTCLIENT_TRANSPORT = "unix:/tmp/from-env.sock";
    env.THRIFTCLIENT_PROTOCOL = "json";
    try {
      const thrift = ThriftClient.fromEnv(Calculator.Client, {
        protocol: "compact",
      });
      assert.equal(thrift.url, "unix:/tmp/from-env.sock");
      env.THRIFTCLIENT_PROTOCOL = "bogus";
      assert.throws(() => ThriftClient.fromEnv(Calculator.Client), ConfigError);
    } finally {
      delete env.THRIFTCLIENT_TRANSPORT;
      delete env.THRIFTCLIENT_PROTOCOL;
    }
  });
});
