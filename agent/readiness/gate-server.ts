/**
 * Serves the readiness gate: `GET /ready` from a task container's health check answers 200
 * once every target of that container is healthy in its groups, 503 with a one-line reason
 * before. The caller is known by its source address (host network mode: `?id=`). Read-only,
 * bounded: GET and HEAD only, small requests, the listener limits (a few connections per
 * source address, one answer per connection, timeouts within about a second: a container
 * that holds sockets open cannot starve the others' health checks); each answer is computed
 * from data the agent already holds, never by a call of its own.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { GateAnswer, GateQuery } from '../core/gate.ts';
import { CLOSE_HEADER, isWildcardAddress, limitConnections } from '../listener-limits.ts';
import type { Log } from '../log.ts';

export const GATE_PATH = '/ready';

/** The query the gate sees in a request. */
export function gateQueryOf(req: Pick<IncomingMessage, 'url' | 'socket'>): GateQuery {
  const url = new URL(req.url ?? '/', 'http://gate');
  const id = url.searchParams.get('id');
  return { sourceAddress: req.socket.remoteAddress ?? '', ...(id !== null && id.length <= 128 ? { id } : {}) };
}

/** Starts the gate on `address`; resolves once it listens. */
export async function startGateServer(
  address: { host: string; port: number },
  answer: (q: GateQuery) => GateAnswer,
  log: Log,
): Promise<{ close(): Promise<void>; port: number }> {
  if (isWildcardAddress(address.host)) throw new Error(`the readiness gate listens on one address, not on every interface (${address.host})`);
  const server = createServer({ maxHeaderSize: 4096 }, (req, res) => {
    const text = (status: number, body: string, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...CLOSE_HEADER, ...headers }).end(req.method === 'HEAD' ? undefined : `${body}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed: GET /ready', { allow: 'GET, HEAD' });
    if ((req.url ?? '/').split('?')[0] !== GATE_PATH) return text(404, 'not found: GET /ready');
    const a = answer(gateQueryOf(req));
    text(a.ready ? 200 : 503, a.reason);
  });
  limitConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  log.info(`serving the readiness gate on http://${address.host}:${port}${GATE_PATH}`, { event: 'gate-listening', address: address.host, port });
  return {
    port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
