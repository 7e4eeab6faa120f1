// The load generator (test/support/load-generator.ts) against node:http servers on 127.0.0.1:
// its rate, what it counts as ok and failed, its deadline and its concurrency bound.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freeTcpPort } from '../support/ecs-container.ts';
import { startLoad } from '../support/load-generator.ts';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  let connections = 0;
  let open = 0;
  let maxOpen = 0;
  const server = createServer((req, res) => handler(req, res, ++n));
  server.on('connection', (socket) => {
    connections += 1;
    open += 1;
    maxOpen = Math.max(maxOpen, open);
    socket.on('close', () => (open -= 1));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests: () => n,
    connections: () => connections,
    maxOpen: () => maxOpen,
  };
}

const ok = (_req: IncomingMessage, res: ServerResponse) => res.end('ok\n');

describe('startLoad', () => {
  it('sends a steady rate, one connection per request by default, with a per-second timeline', async () => {
    const server = await serve(ok);
    const stats = await startLoad({ url: server.url, ratePerSecond: 50, durationMs: 2_000 }).done;
    expect(stats.sent).toBe(100);
    expect(stats).toMatchObject({ ok: 100, failed: 0, skipped: 0, inFlight: 0 });
    expect(server.requests()).toBe(100);
    expect(server.connections()).toBe(100);
    expect(stats.timeline.map((s) => s.sent)).toEqual([50, 50]);
    expect(stats.timeline.map((s) => s.ok)).toEqual([50, 50]);
    expect(stats.latencyMs.max).toBeGreaterThanOrEqual(stats.latencyMs.p50);
  });

  it('reuses connections with keepAlive', async () => {
    const server = await serve(ok);
    const stats = await startLoad({ url: server.url, ratePerSecond: 50, durationMs: 1_000, keepAlive: true }).done;
    expect(stats).toMatchObject({ sent: 50, ok: 50, failed: 0 });
    expect(server.connections()).toBeLessThan(10);
  });

  it('counts non-2xx answers by status and tells the load balancer\'s own answers apart', async () => {
    const server = await serve((_req, res, n) => {
      if (n % 5 === 0) res.writeHead(503, { server: 'awselb/2.0' }).end('lb');
      else if (n % 5 === 1) res.writeHead(500).end('app');
      else res.end('ok');
    });
    const stats = await startLoad({ url: server.url, ratePerSecond: 50, durationMs: 1_000 }).done;
    expect(stats).toMatchObject({ sent: 50, ok: 30, failed: 20, statuses: { 500: 10, 503: 10 }, errors: {} });
    expect(stats.failures.filter((f) => f.fromLoadBalancer).map((f) => f.status)).toEqual(Array(10).fill(503));
    expect(stats.timeline[0]).toMatchObject({ sent: 50, ok: 30, failed: 20 });
  });

  it('counts connection errors by code: refused, and reset in the middle of a response', async () => {
    const refused = await startLoad({ url: `http://127.0.0.1:${await freeTcpPort()}/`, ratePerSecond: 20, durationMs: 500 }).done;
    expect(refused).toMatchObject({ sent: 10, ok: 0, failed: 10, errors: { ECONNREFUSED: 10 } });

    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.destroy(), 20);
    });
    const reset = await startLoad({ url: server.url, ratePerSecond: 20, durationMs: 500 }).done;
    expect(reset).toMatchObject({ sent: 10, ok: 0, failed: 10, errors: { ECONNRESET: 10 } });
  });

  it('ends requests at their deadline and never has more than maxInFlight open', async () => {
    const server = await serve(() => {}); // never answers
    const started = Date.now();
    const stats = await startLoad({ url: server.url, ratePerSecond: 20, durationMs: 1_000, timeoutMs: 300, maxInFlight: 3 }).done;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(stats.sent + stats.skipped).toBe(20);
    expect(stats.skipped).toBeGreaterThan(0);
    expect(stats).toMatchObject({ ok: 0, failed: stats.sent, errors: { TIMEOUT: stats.sent }, inFlight: 0 });
    expect(stats.peakInFlight).toBe(3);
    expect(server.maxOpen()).toBeLessThanOrEqual(4); // the server sees a destroyed connection close a moment later
    expect(stats.failures.every((f) => f.durationMs >= 290 && f.durationMs < 1_000)).toBe(true);
  });

  it('stop() ends the load early and waits for what is in flight', async () => {
    const server = await serve((_req, res) => setTimeout(() => res.end('slow'), 200));
    const load = startLoad({ url: server.url, ratePerSecond: 50 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stopAt = Date.now();
    const stats = await load.stop();
    expect(stats.inFlight).toBe(0);
    // What was due by the stop (one request every 20 ms from the start, as measured, however late a
    // busy machine fired the 500 ms timer): sent, and nothing after it.
    const due = Math.floor((stopAt - stats.startedAt) / 20) + 1;
    expect(stats.sent).toBeGreaterThanOrEqual(due - 2);
    expect(stats.sent).toBeLessThanOrEqual(due);
    expect(stats.ok).toBe(stats.sent);
    expect(await load.done).toEqual(stats);
  });

  it('refuses a bad rate or URL', () => {
    expect(() => startLoad({ url: 'http://127.0.0.1:1/', ratePerSecond: 0 })).toThrow(/ratePerSecond/);
    expect(() => startLoad({ url: 'https://127.0.0.1:1/', ratePerSecond: 1 })).toThrow(/http/);
  });
});
