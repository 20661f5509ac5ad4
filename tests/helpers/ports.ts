/** Ports for servers that stand for several hosts: one port free on several loopback addresses. */
import { createServer } from "node:net";

/** Binds `host:port` (0: any) and lets go; the port bound, or undefined when it was taken. */
function bindable(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(undefined));
    probe.listen(port, host, () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : undefined));
    });
  });
}

/** A port free on every one of `hosts` (`127.0.0.2`, ...) a moment ago. */
export async function freePortOn(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindable(hosts[0]!, 0);
    if (port === undefined) continue;
    let free = true;
    for (const host of hosts.slice(1)) free = free && (await bindable(host, port)) === port;
    if (free) return port;
  }
  throw new Error(`Cannot find a port free on ${hosts.join(", ")}`);
}
