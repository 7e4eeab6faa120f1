/**
 * An HTTP listener of the local load balancer: it forwards each request to one target of its
 * target group, chosen as an ALB would (routing.ts) from a membership view that lags the API
 * by the propagation delay (routing-table.ts), and it keeps per-target traffic counts.
 *
 * Behaviour taken from the ALB documentation where a choice was needed:
 * - Routing is per request, not per client connection: clients may keep connections alive.
 * - A request whose target refuses or breaks the connection gets `502 Bad Gateway`; a target
 *   that does not accept the connection within 10 s gets `504 Gateway Timeout`; no registered
 *   target gets `503 Service Temporarily Unavailable` (ALB troubleshooting guide, "The load
 *   balancer generates an HTTP error",
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html).
 *   Responses the load balancer makes itself carry `Server: awselb/2.0`, as ALB's do, so a
 *   client can tell them from the target's own errors.
 * - A target idle for the idle timeout (ALB default 60 s) ends the request (504, or a cut
 *   connection once the response has begun).
 * - In-flight requests to a draining target continue until the deregistration delay ends, then
 *   are cut: 502 if the response had not started, else the client connection is closed ("If a
 *   deregistering target terminates the connection before the deregistration delay elapses, the
 *   client receives a 500-level error response",
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/modify-target-group-health-settings.html).
 *
 * One simplification, on purpose: every forwarded request opens a new connection to the target
 * (`Connection: close`). ALB pools connections to targets, but a pooled connection that the
 * target closed a moment earlier fails a request for reasons that have nothing to do with
 * routing, which would blur what the deployment tests measure.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Elbv2Model } from './elbv2-model.ts';
import { RoutingTable } from './routing-table.ts';
import { eligibleTargets, pickTarget, routingAlgorithmOf, type FailOpenMode } from './routing.ts';
import type { RoutableTarget } from './routing.ts';

/** Defaults of a listener, named so the CLI and tests can refer to them. */
export const LISTENER_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  /** 0: routing follows the API at once (AWS takes seconds; set it for deployment tests). */
  propagationDelayMs: 0,
  /** ALB's connection timeout to a target (504 after it). */
  connectTimeoutMs: 10_000,
  /** ALB's default idle timeout. */
  idleTimeoutMs: 60_000,
} as const;

/** Options of `LocalElbv2.createListener`. */
export interface ListenerOptions {
  readonly targetGroupArn: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Time from a RegisterTargets/DeregisterTargets call to the routing change; health is never delayed. */
  readonly propagationDelayMs?: number;
  /**
   * Connect here (with the target's port) instead of to the target's IP, like the endpoint's
   * `healthCheckAddress` (its default): tests register 10.8.0.10 but serve on 127.0.0.1.
   */
  readonly forwardAddress?: string;
  /** Connect to targets from this local address (the load balancer node's address in its VPC); default: the kernel's choice. */
  readonly sourceAddress?: string;
  readonly connectTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /** Which targets a group without a healthy one fails open to (routing.ts); default `unhealthy`. */
  readonly failOpen?: FailOpenMode;
}

/** Traffic of one target (`id:port`) through one listener. */
export interface TargetTraffic {
  /** Requests sent to it. */
  routed: number;
  /** Of those, sent while failing open (no healthy target). */
  failOpen: number;
  inFlight: number;
  /** Responses relayed to the client in full. */
  completed: number;
  /** Ended by a connection error, timeout or a client that went away. */
  failed: number;
  /** In flight when its deregistration delay ended. */
  cut: number;
}

/** Counts since the listener started or `resetStats()`. */
export interface ListenerStats {
  requests: number;
  /** Answered 503: no target registered in this listener's view. */
  noTarget: number;
  /** Routed while no target was healthy. */
  failOpen: number;
  /** Per `id:port`, every target that got a request. */
  targets: Record<string, TargetTraffic>;
}

/** A running listener. */
export interface LoadBalancerListener {
  readonly url: string;
  readonly port: number;
  readonly targetGroupArn: string;
  readonly propagationDelayMs: number;
  /** A copy of the counts. */
  stats(): ListenerStats;
  /** Zeroes the counts (in-flight numbers stay). */
  resetStats(): void;
  /** The targets as this listener sees them now (phase and health), and which a new request may go to. */
  routing(): { readonly targets: readonly RoutableTarget[]; readonly eligible: readonly RoutableTarget[]; readonly failOpen: boolean };
  /** Stops listening; requests in flight are cut. Idempotent. */
  close(): Promise<void>;
}

interface Flight {
  cut(): void;
}

/** Starts a listener on `host:port` for one target group of `model`. */
export async function startListener(model: Elbv2Model, options: ListenerOptions): Promise<LoadBalancerListener> {
  const arn = options.targetGroupArn;
  const propagationDelayMs = options.propagationDelayMs ?? LISTENER_DEFAULTS.propagationDelayMs;
  const connectTimeoutMs = options.connectTimeoutMs ?? LISTENER_DEFAULTS.connectTimeoutMs;
  const idleTimeoutMs = options.idleTimeoutMs ?? LISTENER_DEFAULTS.idleTimeoutMs;
  const table = new RoutingTable(propagationDelayMs);
  const live = (key: string) => model.currentTarget(arn, key);
  let stats: ListenerStats = { requests: 0, noTarget: 0, failOpen: 0, targets: {} };
  const inFlight = new Map<string, Set<Flight>>();
  let turn = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const trafficOf = (key: string): TargetTraffic =>
    (stats.targets[key] ??= { routed: 0, failOpen: 0, inFlight: inFlight.get(key)?.size ?? 0, completed: 0, failed: 0, cut: 0 });

  const sync = (): void => {
    for (const key of table.advance(Date.now())) {
      for (const flight of [...(inFlight.get(key) ?? [])]) flight.cut();
    }
    clearTimeout(timer);
    const due = table.nextDueAt();
    if (due !== undefined && !closed) {
      timer = setTimeout(sync, Math.max(0, due - Date.now()));
      timer.unref();
    }
  };

  // Subscribe before seeding: both happen in this tick, so no change falls between them.
  const unsubscribe = model.onMembershipChange((change) => {
    if (change.groupArn !== arn || closed) return;
    table.receive(change);
    sync();
  });
  table.seed(model.members(arn));

  const routing = () => {
    sync();
    const targets = table.view(live);
    const { targets: eligible, failOpen } = eligibleTargets(targets, options.failOpen);
    return { targets, eligible, failOpen };
  };

  const forward = (req: IncomingMessage, res: ServerResponse, target: RoutableTarget): void => {
    const upstream = httpRequest({
      host: options.forwardAddress ?? target.id,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: forwardedRequestHeaders(req, localPort),
      agent: false,
      ...(options.sourceAddress !== undefined ? { localAddress: options.sourceAddress } : {}),
    });
    const flights = inFlight.get(target.key) ?? new Set<Flight>();
    inFlight.set(target.key, flights);
    let settled = false;
    // abort() is defined below; the timer only fires after this function has returned.
    const connectTimer = setTimeout(() => abort(504, 'failed'), connectTimeoutMs);
    const settle = (outcome: 'completed' | 'failed' | 'cut'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      flights.delete(flight);
      const traffic = trafficOf(target.key);
      traffic.inFlight = flights.size;
      traffic[outcome] += 1;
    };
    const abort = (status: number, outcome: 'failed' | 'cut'): void => {
      if (settled) return;
      upstream.destroy();
      if (!res.headersSent) sendOwn(res, status);
      else res.destroy();
      settle(outcome);
    };
    const flight: Flight = { cut: () => abort(502, 'cut') };
    flights.add(flight);
    trafficOf(target.key).inFlight = flights.size;

    upstream.on('socket', (socket: Socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once('connect', () => clearTimeout(connectTimer));
    });
    upstream.setTimeout(idleTimeoutMs, () => abort(504, 'failed'));
    upstream.on('error', () => abort(502, 'failed'));
    upstream.on('response', (response) => {
      if (settled) {
        response.resume();
        return;
      }
      res.writeHead(response.statusCode ?? 502, response.statusMessage, responseHeaders(response.headers));
      response.on('error', () => abort(502, 'failed'));
      response.on('close', () => {
        if (!response.complete) abort(502, 'failed');
      });
      response.pipe(res);
    });
    res.on('finish', () => settle('completed'));
    res.on('close', () => {
      // The client went away (or the response was destroyed here): stop talking to the target.
      if (!settled) {
        upstream.destroy();
        settle('failed');
      }
    });
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    stats.requests += 1;
    const { eligible, failOpen } = routing();
    const algorithm = routingAlgorithmOf(model.attribute(arn, 'load_balancing.algorithm.type'));
    const target = pickTarget(algorithm, eligible, {
      turn: turn++,
      outstanding: (key) => inFlight.get(key)?.size ?? 0,
      random: Math.random,
    });
    if (!target) {
      stats.noTarget += 1;
      req.resume();
      sendOwn(res, 503);
      return;
    }
    const traffic = trafficOf(target.key);
    traffic.routed += 1;
    if (failOpen) {
      traffic.failOpen += 1;
      stats.failOpen += 1;
    }
    forward(req, res, target);
  });
  server.keepAliveTimeout = idleTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? LISTENER_DEFAULTS.port, options.host ?? LISTENER_DEFAULTS.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    unsubscribe();
    throw error;
  });
  const address = server.address() as AddressInfo;
  const localPort = address.port;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    targetGroupArn: arn,
    propagationDelayMs,
    stats: () => structuredClone(stats),
    resetStats() {
      const targets: Record<string, TargetTraffic> = {};
      for (const [key, flights] of inFlight) {
        if (flights.size > 0) targets[key] = { routed: 0, failOpen: 0, inFlight: flights.size, completed: 0, failed: 0, cut: 0 };
      }
      stats = { requests: 0, noTarget: 0, failOpen: 0, targets };
    },
    routing,
    close() {
      closing ??= (async () => {
        closed = true;
        unsubscribe();
        clearTimeout(timer);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const flights of inFlight.values()) for (const flight of [...flights]) flight.cut();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

// Hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded; Node frames each side itself.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The request as ALB forwards it: X-Forwarded-For/-Proto/-Port added, a fresh connection per request. */
function forwardedRequestHeaders(req: IncomingMessage, listenerPort: number): OutgoingHttpHeaders {
  const headers = withoutHopByHop(req.headers);
  const client = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${String(prior)}, ${client}` : client;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(listenerPort);
  headers.connection = 'close';
  return headers;
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return withoutHopByHop(headers);
}

const REASONS: Readonly<Record<number, string>> = {
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

/** A response the load balancer makes itself. */
function sendOwn(res: ServerResponse, status: number): void {
  if (res.destroyed || res.headersSent) return;
  const body = `<html>\r\n<head><title>${status} ${REASONS[status] ?? ''}</title></head>\r\n<body>\r\n<center><h1>${status} ${REASONS[status] ?? ''}</h1></center>\r\n</body>\r\n</html>\r\n`;
  res.writeHead(status, REASONS[status] ?? '', { server: 'awselb/2.0', 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
