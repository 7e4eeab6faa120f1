// The readiness gate's HTTP face: GET /ready only, the caller's source address (and ?id=)
// reach the decision, the answer's status and one-line reason come back, nothing else does.
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GateQuery } from '../../agent/core/gate.ts';
import { LISTENER_LIMITS, isWildcardAddress } from '../../agent/listener-limits.ts';
import type { Log } from '../../agent/log.ts';
import { startGateServer } from '../../agent/readiness/gate-server.ts';

const quiet: Log = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => quiet };
const asked: GateQuery[] = [];
let gate: { close(): Promise<void>; port: number };
let base: string;

beforeAll(async () => {
  gate = await startGateServer({ host: '127.0.0.1', port: 0 }, (q) => {
    asked.push(q);
    return q.id === 'ready-one' ? { ready: true, reason: 'ready', containerId: 'c1' } : { ready: false, reason: 'tg/web 10.8.0.10:32768 is initial', containerId: 'c2' };
  }, quiet);
  base = `http://127.0.0.1:${gate.port}`;
});

afterAll(async () => {
  await gate?.close();
});

describe('gate server', () => {
  it.each([
    ['GET /ready, not ready: 503 and the reason', 'GET', '/ready', 503, 'tg/web 10.8.0.10:32768 is initial\n'],
    ['GET /ready?id=...: the id reaches the decision', 'GET', '/ready?id=ready-one', 200, 'ready\n'],
    ['HEAD: the status without a body', 'HEAD', '/ready?id=ready-one', 200, ''],
    ['POST is refused', 'POST', '/ready', 405, 'method not allowed: GET /ready\n'],
    ['DELETE is refused', 'DELETE', '/ready', 405, 'method not allowed: GET /ready\n'],
    ['another path: 404', 'GET', '/metrics', 404, 'not found: GET /ready\n'],
    ['a prefix is not the path', 'GET', '/ready/../metrics', 404, 'not found: GET /ready\n'],
  ])('%s', async (_name, method, path, status, body) => {
    const res = await fetch(`${base}${path}`, { method });
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(body);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('hands the decision the caller\'s source address and never the container id', async () => {
    asked.length = 0;
    const res = await fetch(`${base}/ready`);
    expect(await res.text()).not.toContain('c2');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.sourceAddress).toMatch(/127\.0\.0\.1$/);
    expect(asked[0]?.id).toBeUndefined();
  });

  it('ignores an oversized id instead of passing it on', async () => {
    asked.length = 0;
    await fetch(`${base}/ready?id=${'x'.repeat(500)}`);
    expect(asked[0]?.id).toBeUndefined();
  });
});

describe('gate server limits (a container that holds sockets cannot starve the others)', () => {
  /** Opens a raw connection from `localAddress`; resolves once connected, with when it closed (undefined while open). */
  const connect = (localAddress: string) => new Promise<{ socket: Socket; closed: Promise<number> }>((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port: gate.port, localAddress });
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    socket.once('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
  /** One raw request; its whole answer, or '' when the connection closed without one. */
  const ask = (localAddress: string) => new Promise<string>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: gate.port, localAddress }, () => socket.write('GET /ready HTTP/1.1\r\nHost: gate\r\n\r\n'));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.once('error', () => {});
    socket.once('close', () => resolve(text));
  });

  it('answers with Connection: close', async () => {
    const res = await fetch(`${base}/ready`);
    expect(res.headers.get('connection')).toBe('close');
    await res.text();
  });

  it(`closes a source's connections beyond ${LISTENER_LIMITS.maxPerSource} as they come, and still answers another source`, async () => {
    const held = await Promise.all(Array.from({ length: LISTENER_LIMITS.maxPerSource }, () => connect('127.0.0.2')));
    // The one more from the same source: closed without an answer.
    expect(await ask('127.0.0.2')).toBe('');
    // Another source is answered while the first one holds its share.
    expect(await ask('127.0.0.3')).toMatch(/^HTTP\/1\.1 503 .*\r\n[^]*connection: close\r\n/i);
    for (const h of held) h.socket.destroy();
  });

  it('closes an idle connection and a half-sent request within about a second, not at Node\'s 30 s sweep', async () => {
    const opened = Date.now();
    const idle = await connect('127.0.0.4');
    const half = await connect('127.0.0.4');
    half.socket.write('GET /ready HTTP/1.1\r\nHost: ga');
    // A trickle keeps the idle timer from firing; the lifetime still ends it.
    const trickle = await connect('127.0.0.4');
    trickle.socket.write('GET /ready HTTP/1.1\r\nX-Slow: ');
    const drip = setInterval(() => trickle.socket.write('a'), 200);
    const [a, b, c] = await Promise.race([
      Promise.all([idle.closed, half.closed, trickle.closed]),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('connections still open after 4 s')), 4_000)),
    ]);
    clearInterval(drip);
    // Closed by the listener's limits (1 s idle, 2 s lifetime), long before Node's 5 s header timeout could be seen.
    expect(Math.max(a, b, c) - opened).toBeLessThan(4_000);
  });
});

describe('isWildcardAddress', () => {
  it.each([
    ['0.0.0.0', true], ['::', true], ['[::]', true], ['0:0:0:0:0:0:0:0', true], ['', true],
    ['172.17.0.1', false], ['127.0.0.1', false], ['::1', false], ['localhost', false],
  ])('%j -> %s', (host, wildcard) => {
    expect(isWildcardAddress(host)).toBe(wildcard);
  });

  it('the gate refuses to listen on every interface', async () => {
    await expect(startGateServer({ host: '0.0.0.0', port: 0 }, () => ({ ready: false, reason: 'x' }), quiet)).rejects.toThrow(/not on every interface/);
  });
});
