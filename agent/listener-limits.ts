/**
 * Limits for the agent's HTTP listeners (the readiness gate on the Docker bridge, which every
 * container on the host can reach, and the metrics server): no caller can hold the listener
 * for the others. A few connections per source address, every connection closed after one
 * answer, and the timeouts enforced by the connection's own timers within about a second
 * (Node's header and request timeouts are only checked by a sweep every 30 s, which lets one
 * container hold every slot with idle sockets).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ListenerLimits {
  /** Connections served at once, from every source. */
  readonly maxConnections: number;
  /** Connections one source address may hold at once; more are closed as they arrive. */
  readonly maxPerSource: number;
  /** A connection that sends nothing for this long is closed. */
  readonly idleMs: number;
  /** A connection is closed this long after it opened, whatever it sends (one request, one answer). */
  readonly lifetimeMs: number;
}

/** The gate's and the metrics server's limits: a health check or a scrape is one short request. */
export const LISTENER_LIMITS: ListenerLimits = { maxConnections: 128, maxPerSource: 8, idleMs: 1_000, lifetimeMs: 2_000 };

/** The header that ends every answer's connection: a caller gets one request per connection. */
export const CLOSE_HEADER = { connection: 'close' } as const;

/** True for an address that listens on every interface (0.0.0.0, ::): the agent's listeners never do. */
export function isWildcardAddress(host: string): boolean {
  const h = host.trim().replace(/^\[|\]$/g, '');
  return h === '0.0.0.0' || /^[0:]+$/.test(h) || h === '';
}

/** Applies the limits to a server before it listens. */
export function limitConnections(server: Server, limits: ListenerLimits = LISTENER_LIMITS): void {
  // Not server.maxConnections: it counts the connections refused below until they have closed, so one
  // container's burst of connects would fill it for a moment and turn the others away.
  let kept = 0;
  server.headersTimeout = limits.lifetimeMs;
  server.requestTimeout = limits.lifetimeMs;
  server.keepAliveTimeout = limits.idleMs;
  const perSource = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress ?? '';
    const held = perSource.get(source) ?? 0;
    if (held >= limits.maxPerSource || kept >= limits.maxConnections) {
      socket.destroy();
      return;
    }
    kept++;
    perSource.set(source, held + 1);
    socket.setTimeout(limits.idleMs, () => socket.destroy());
    const deadline = setTimeout(() => socket.destroy(), limits.lifetimeMs);
    deadline.unref();
    socket.once('close', () => {
      clearTimeout(deadline);
      kept--;
      const left = (perSource.get(source) ?? 1) - 1;
      if (left > 0) perSource.set(source, left);
      else perSource.delete(source);
    });
  });
}
