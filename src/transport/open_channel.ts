/**
 * The one place a channel to an endpoint is opened: a socket channel (tcp, unix, with or
 * without TLS), or an HTTP channel (one POST per call) for http(s).
 *
 * @module
 */
import type { Endpoint } from "../config.ts";
import type { Runtime } from "./byte_stream.ts";
import type { Channel, ReplySink } from "./channel.ts";
import { httpChannel, type ReplyCheck } from "./http.ts";
import { openSocketChannel } from "./socket_channel.ts";

/** Opens a channel to an endpoint, delivering what arrives to a sink. */
export type ChannelOpener = (sink: ReplySink, cancel: AbortSignal) => Promise<Channel>;

/**
 * Returns the opener of `endpoint`'s channels on `runtime`; `check` is the HTTP reply check
 * (the layer above knows the protocol).
 */
export function channelOpener(
  endpoint: Endpoint,
  runtime: Runtime,
  check: ReplyCheck,
): ChannelOpener {
  const { httpUrl, target } = endpoint;
  if (httpUrl) {
    const fetch = runtime.fetchWith(endpoint.httpTls);
    return (sink) => Promise.resolve(httpChannel(endpoint, httpUrl, sink, fetch, check));
  }
  return (sink, cancel) => openSocketChannel(endpoint, target!, sink, runtime, cancel);
}
