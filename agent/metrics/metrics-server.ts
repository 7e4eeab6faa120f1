/**
 * Serves /metrics (Prometheus text) and /healthz on a loopback address. /healthz answers
 * 503 when Docker has not answered for longer than the threshold (every completed pass and
 * event-stream connection counts; periodic passes keep it fresh in quiet times), or when
 * every ELB API request has failed (network, 5xx, throttling, rejected credentials) for
 * longer than the threshold. ELB silence alone is no problem: with nothing to change, or
 * while Docker is down, the agent has no reason to call it.
 */
import { createServer } from 'node:http';
import { CLOSE_HEADER, isWildcardAddress, limitConnections } from '../listener-limits.ts';
import type { Log } from '../log.ts';
import type { Metrics } from './metrics.ts';

export const DEFAULT_UNHEALTHY_AFTER_MS = 120_000;

/** Health verdict from when Docker last answered and since when the ELB API has been failing. */
export function healthOf(metrics: Metrics, now: number, unhealthyAfterMs: number, startedAt: number): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  const since = (t: number) => now - (t === 0 ? startedAt : t);
  if (since(metrics.lastDockerOk) > unhealthyAfterMs) problems.push(`Docker unreachable for ${Math.round(since(metrics.lastDockerOk) / 1000)} s`);
  if (metrics.elbFailingSince !== 0 && now - metrics.elbFailingSince > unhealthyAfterMs) {
    problems.push(`ELB API unreachable for ${Math.round((now - metrics.elbFailingSince) / 1000)} s`);
  }
  return { ok: problems.length === 0, problems };
}

/** Starts the server; resolves once it listens. */
export async function startMetricsServer(
  address: { host: string; port: number },
  metrics: Metrics,
  log: Log,
  unhealthyAfterMs = DEFAULT_UNHEALTHY_AFTER_MS,
): Promise<{ close(): Promise<void>; port: number }> {
  const startedAt = Date.now();
  if (isWildcardAddress(address.host)) throw new Error(`metrics are served on one loopback address, not on every interface (${address.host})`);
  const server = createServer({ maxHeaderSize: 4096 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', ...CLOSE_HEADER }).end();
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', ...CLOSE_HEADER }).end(metrics.render());
    } else if (path === '/healthz') {
      const h = healthOf(metrics, Date.now(), unhealthyAfterMs, startedAt);
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', ...CLOSE_HEADER }).end(h.ok ? 'ok\n' : `${h.problems.join('\n')}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...CLOSE_HEADER }).end('not found: try /metrics or /healthz\n');
    }
  });
  limitConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  log.info(`serving metrics on http://${address.host}:${port}/metrics`, { event: 'metrics-listening', port });
  return {
    port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
