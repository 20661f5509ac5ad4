/**
 * Several endpoints: the URLs of the `transport` list and, with `dns`, every address their host
 * names resolve to (re-resolved every `dns.refresh` ms and after connect failures). Each
 * endpoint has its own connection kit (and pool). A new connection goes to the less loaded of
 * two healthy endpoints picked at random; 5 consecutive connect or transport failures eject an
 * endpoint for a backoff (1 s doubling to 60 s, jittered), after which one probe connection
 * decides; when every endpoint is ejected, all are tried (panic). An endpoint that leaves the
 * list is drained: it takes no new connection and its pool closes once its last one ended.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";
import type { DnsSettings, Endpoint, Location } from "./config.ts";
import type { ConnectionKit } from "./connection_kit.ts";
import { ConnectError } from "./errors.ts";
import type { PoolStats } from "./pool.ts";
import type { Runtime } from "./transport/byte_stream.ts";

/** Consecutive failures that eject an endpoint. */
const EJECT_AFTER = 5;
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;
/** Re-resolution after connect failures, at most this often. */
const RESOLVE_AFTER_FAILURE_MS = 1_000;

/** What `thrift.endpoints` shows of one endpoint. */
export interface EndpointStats {
  /** The endpoint's URL, without credentials (the address, when resolved from a name). */
  readonly url: string;
  /** `healthy`, `ejected`, `probing` (one connection decides), `draining` (removed). */
  readonly state: "healthy" | "ejected" | "probing" | "draining";
  /** Connections using it now (calls in flight on them), plus leases waiting in its pool. */
  readonly inFlight: number;
  /** Consecutive connect or transport failures. */
  readonly failures: number;
  /** When an ejected endpoint may be probed again (ms since the epoch), else undefined. */
  readonly ejectedUntil: number | undefined;
  /** Its pool's counters, when the pool is on. */
  readonly pool: PoolStats | undefined;
}

/** One endpoint's health and load; connections report to it. */
export class EndpointState {
  /** Its kit: the endpoint, its opener, its pool. */
  readonly kit: ConnectionKit;
  /** The URL of the list it comes from. */
  readonly source: Location;
  /** Connections using it now. */
  active = 0;
  failures = 0;
  state: EndpointStats["state"] = "healthy";
  ejectedUntil = 0;
  #backoff = FIRST_BACKOFF_MS;
  readonly #onFailure: () => void;

  /**
   * @param kit Its kit.
   * @param source The URL of the list it comes from.
   * @param onFailure Told of every failure (to re-resolve names).
   */
  constructor(kit: ConnectionKit, source: Location, onFailure: () => void) {
    this.kit = kit;
    this.source = source;
    this.#onFailure = onFailure;
  }

  /** Load for the choice between two: connections using it and leases waiting for it. */
  get load(): number {
    return this.active + (this.kit.pool?.stats.waiting ?? 0);
  }

  /** A reply arrived on one of its connections: it is healthy. */
  ok(): void {
    this.failures = 0;
    if (this.state === "probing" || this.state === "ejected") {
      this.state = "healthy";
      this.#backoff = FIRST_BACKOFF_MS;
    }
  }

  /**
   * A connect or transport failure: the 5th in a row ejects it, a failed probe again. Failures
   * of connections opened before an ejection (a crash fails them all at once) do not eject it
   * again: each ejection would double the backoff.
   */
  failed(): void {
    this.failures++;
    this.#onFailure();
    if (this.state === "draining" || this.state === "ejected") return;
    if (this.state === "probing" || this.failures >= EJECT_AFTER) this.#eject();
  }

  #eject(): void {
    const jitter = 0.8 + Math.random() * 0.4;
    this.ejectedUntil = Date.now() + this.#backoff * jitter;
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
    this.state = "ejected";
  }

  /** The counters. */
  get stats(): EndpointStats {
    return {
      url: this.kit.endpoint.label,
      state: this.state,
      inFlight: this.load,
      failures: this.failures,
      ejectedUntil: this.state === "ejected" ? this.ejectedUntil : undefined,
      pool: this.kit.pool?.stats,
    };
  }
}

/** The endpoints of one client, and how a new connection picks one. */
export class Balancer {
  readonly #base: Endpoint;
  readonly #kitFor: (endpoint: Endpoint) => ConnectionKit;
  readonly #runtime: Runtime;
  readonly #dns: DnsSettings | undefined;
  #states: EndpointState[] = [];
  /** Removed from the list, still draining. */
  readonly #draining = new Set<EndpointState>();
  #resolving: Promise<void> | undefined;
  #resolved = false;
  #lastResolve = 0;
  #refresh: ReturnType<typeof setTimeout> | undefined;
  /** How many times `closeIdle()` stopped the refresh (a lookup in flight then schedules none). */
  #stopped = 0;

  /**
   * @param base The client's settings; its `locations` are the endpoints to balance over.
   * @param kitFor Makes the kit (opener, pool) of one endpoint.
   * @param runtime Resolves host names.
   */
  constructor(
    base: Endpoint,
    kitFor: (endpoint: Endpoint) => ConnectionKit,
    runtime: Runtime,
  ) {
    this.#base = base;
    this.#kitFor = kitFor;
    this.#runtime = runtime;
    this.#dns = base.dns;
    if (!this.#dns || !base.locations.some(needsLookup)) {
      this.#update(
        base.locations.map((location) => ({ location, endpoint: this.#endpointAt(location) })),
      );
      this.#resolved = true;
    }
  }

  /** Every endpoint now, draining ones included. */
  get stats(): EndpointStats[] {
    return [...this.#states, ...this.#draining].map((s) => s.stats);
  }

  /** How many endpoints (not draining) there are now. */
  get size(): number {
    return this.#states.length;
  }

  /**
   * Picks the endpoint of a new connection: the less loaded of two random healthy ones (not
   * those in `avoid` while others remain), or an ejected one whose backoff is over as a probe,
   * or, when every one is ejected, any of them. The pick counts in its load at once (so the
   * connections of one burst spread); `leave` undoes it.
   *
   * @throws {ConnectError} when no host name resolves to any address.
   */
  pick(avoid?: ReadonlySet<EndpointState>): Promise<EndpointState> {
    if (!this.#resolved) return this.#resolve().then(() => this.#take(avoid));
    try {
      return Promise.resolve(this.#take(avoid));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Chooses now, synchronously, and counts the new connection in the endpoint's load. */
  #take(avoid?: ReadonlySet<EndpointState>): EndpointState {
    const state = this.#choose(avoid);
    state.active++;
    return state;
  }

  #choose(avoid?: ReadonlySet<EndpointState>): EndpointState {
    if (this.#states.length === 0) {
      throw new ConnectError(
        `Cannot connect to "${
          this.#base.locations.map((l) => l.label).join(", ")
        }": no host name resolved to any address`,
      );
    }
    const now = Date.now();
    const usable = (s: EndpointState) => !avoid?.has(s) || avoid.size >= this.#states.length;
    const healthy = this.#states.filter((s) => s.state === "healthy" && usable(s));
    const probe = this.#states.find((s) =>
      s.state === "ejected" && s.ejectedUntil <= now && usable(s)
    );
    if (probe) {
      probe.state = "probing";
      return probe;
    }
    if (healthy.length > 0) return choose(healthy);
    const rest = this.#states.filter((s) => s.state !== "probing" && usable(s));
    return choose(rest.length > 0 ? rest : this.#states); // panic: try them all
  }

  /**
   * A connection stopped using the endpoint; a draining one closes once unused. A probe that
   * ended without a verdict (no reply, no failure: its call timed out, or it made none) leaves
   * the endpoint ejected with its backoff over, so the next pick probes it again.
   */
  leave(state: EndpointState): void {
    state.active--;
    if (state.state === "probing" && state.active === 0) state.state = "ejected";
    if (state.state === "draining" && state.active === 0) this.#retire(state);
  }

  /**
   * Stops the refresh timer (a later pick resolves anew) and closes every idle pooled
   * connection.
   */
  closeIdle(): void {
    clearTimeout(this.#refresh);
    this.#stopped++;
    if (this.#dns) this.#resolved = false;
    for (const state of [...this.#states, ...this.#draining]) state.kit.pool?.closeIdle();
  }

  /** Every kit now (to drain their pools). */
  get kits(): ConnectionKit[] {
    return [...this.#states, ...this.#draining].map((s) => s.kit);
  }

  /** Re-resolves after a failure, at most once a second. */
  #failed = (): void => {
    if (!this.#dns || Date.now() - this.#lastResolve < RESOLVE_AFTER_FAILURE_MS) return;
    void this.#resolve();
  };

  #resolve(): Promise<void> {
    const stopped = this.#stopped;
    this.#resolving ??= this.#lookup().finally(() => {
      this.#resolving = undefined;
      if (stopped !== this.#stopped) return; // stopped meanwhile: no timer, resolved anew later
      this.#resolved = true;
      this.#schedule();
    });
    return this.#resolving;
  }

  #schedule(): void {
    clearTimeout(this.#refresh);
    if (!this.#dns) return;
    this.#refresh = setTimeout(() => void this.#resolve(), this.#dns.refresh);
    this.#refresh.unref();
  }

  /** Resolves every name; a name that fails keeps the endpoints it had. */
  async #lookup(): Promise<void> {
    this.#lastResolve = Date.now();
    const servers = this.#dns?.servers;
    const found = await Promise.all(this.#base.locations.map(async (location) => {
      if (!needsLookup(location)) return [{ location, endpoint: this.#endpointAt(location) }];
      const target = location.target as { host: string };
      try {
        const addresses = await this.#runtime.resolve(target.host, servers);
        return addresses.map((address) => ({
          location,
          endpoint: this.#endpointAt(location, address),
        }));
      } catch {
        return this.#states.filter((s) => s.source === location)
          .map((s) => ({ location, endpoint: s.kit.endpoint }));
      }
    }));
    this.#update(found.flat());
  }

  /** The endpoint of a location, at one of its addresses when resolved. */
  #endpointAt(location: Location, address?: string): Endpoint {
    const base = { ...this.#base, ...location };
    const target = location.target;
    if (address === undefined || !target || target.kind !== "tcp") return base;
    const host = address.includes(":") ? `[${address}]` : address;
    const scheme = location.label.slice(0, location.label.indexOf("//"));
    return {
      ...base,
      label: `${scheme}//${host}:${target.port}`,
      target: { ...target, host: address, label: `${scheme}//${host}:${target.port}` },
    };
  }

  /** Keeps the endpoints still listed, adds the new ones, drains the removed ones. */
  #update(endpoints: { location: Location; endpoint: Endpoint }[]): void {
    const byLabel = new Map(this.#states.map((s) => [s.kit.endpoint.label, s]));
    const next: EndpointState[] = [];
    for (const { location, endpoint } of endpoints) {
      const kept = byLabel.get(endpoint.label);
      if (kept) {
        byLabel.delete(endpoint.label);
        if (!next.includes(kept)) next.push(kept);
      } else if (!next.some((s) => s.kit.endpoint.label === endpoint.label)) {
        next.push(new EndpointState(this.#kitFor(endpoint), location, this.#failed));
      }
    }
    for (const removed of byLabel.values()) {
      removed.state = "draining";
      this.#draining.add(removed);
      if (removed.active === 0) this.#retire(removed);
    }
    this.#states = next;
  }

  #retire(state: EndpointState): void {
    this.#draining.delete(state);
    // The last connection gives its channel back just after it left: a drain closes that too.
    void state.kit.pool?.drain(Promise.resolve());
  }
}

/** A tcp location whose host is a name (not an IP literal) is resolved to its addresses. */
function needsLookup(location: Location): boolean {
  const target = location.target;
  if (!target || target.kind !== "tcp") return false;
  return !/^[\d.]+$/.test(target.host) && !target.host.includes(":");
}

/** Power of two choices: the less loaded of two distinct random picks. */
function choose(states: EndpointState[]): EndpointState {
  if (states.length === 1) return states[0]!;
  const i = Math.floor(Math.random() * states.length);
  let j = Math.floor(Math.random() * (states.length - 1));
  if (j >= i) j++;
  const a = states[i]!;
  const b = states[j]!;
  return b.load < a.load ? b : a;
}
