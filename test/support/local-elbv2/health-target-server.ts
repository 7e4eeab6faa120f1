/**
 * A stand-in for a task container's HTTP port: a node:http server on 127.0.0.1 whose
 * health answer can be switched (status code, hang), counting the checks it receives.
 * Register its port with the endpoint's `healthCheckAddress` set to 127.0.0.1.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running health target. */
export interface HealthTargetServer {
  readonly port: number;
  /** Health check requests received so far (method, path, user agent). */
  readonly requests: ReadonlyArray<{ readonly path: string; readonly userAgent?: string }>;
  /** Answer every request with this status from now on (default 200). */
  setStatus(status: number): void;
  /** Accept requests but never answer them (to cause Target.Timeout), or answer again. */
  setHanging(hanging: boolean): void;
  /** Stops listening and closes open connections (checks then fail with connection refused). */
  close(): Promise<void>;
}

/** Starts a health target on 127.0.0.1 (port 0 = a free port). */
export async function startHealthTarget(port = 0): Promise<HealthTargetServer> {
  let status = 200;
  let hanging = false;
  const requests: Array<{ path: string; userAgent?: string }> = [];
  const server = createServer((req, res) => {
    const userAgent = req.headers['user-agent'];
    requests.push({ path: req.url ?? '', ...(userAgent !== undefined ? { userAgent } : {}) });
    if (hanging) return;
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`status ${status}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    setStatus: (next) => {
      status = next;
    },
    setHanging: (next) => {
      hanging = next;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
