/**
 * A stand-in for a task's app behind a listener: a node:http server on 127.0.0.1 that answers
 * health checks on one path (switchable, like health-target-server.ts) and traffic on every
 * other path with its name, optionally slowly (`?delayMs=N`) so tests can hold requests in
 * flight. Register its port with the endpoint's `healthCheckAddress` set to 127.0.0.1.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options of {@link startAppTarget}. */
export interface AppTargetOptions {
  /** Body of traffic responses (default `app-<port>`). */
  readonly name?: string;
  /** Path answered as a health check (default `/health`). */
  readonly healthPath?: string;
  /** 0 (default) = a free port. */
  readonly port?: number;
}

/** A running app target. */
export interface AppTargetServer {
  readonly name: string;
  readonly port: number;
  /** Traffic requests received (health checks not counted). */
  traffic(): number;
  /** Health checks received. */
  healthChecks(): number;
  /** Status of health check answers from now on (default 200). */
  setHealthStatus(status: number): void;
  /** Accept health checks but never answer (Target.Timeout), or answer again. */
  setHealthHanging(hanging: boolean): void;
  /** Stops listening and cuts open connections, like an app that exits. */
  close(): Promise<void>;
}

/** Starts an app target on 127.0.0.1. */
export async function startAppTarget(options: AppTargetOptions = {}): Promise<AppTargetServer> {
  const healthPath = options.healthPath ?? '/health';
  let healthStatus = 200;
  let healthHanging = false;
  let traffic = 0;
  let healthChecks = 0;
  let name = options.name ?? '';
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname === healthPath) {
      healthChecks += 1;
      if (healthHanging) return;
      res.writeHead(healthStatus, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`health ${healthStatus}\n`);
      return;
    }
    traffic += 1;
    const delayMs = Number(url.searchParams.get('delayMs') ?? '0');
    const answer = (): void => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${name}\n`);
    };
    if (!(delayMs > 0)) return answer();
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, delayMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  name ||= `app-${port}`;
  let closed: Promise<void> | undefined;
  return {
    name,
    port,
    traffic: () => traffic,
    healthChecks: () => healthChecks,
    setHealthStatus: (status) => {
      healthStatus = status;
    },
    setHealthHanging: (hanging) => {
      healthHanging = hanging;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
