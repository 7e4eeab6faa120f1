// The readiness gate's HTTP face: GET /ready only, the caller's source address (and ?id=)
// reach the decision, the answer's status and one-line reason come back, nothing else does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GateQuery } from '../../agent/core/gate.ts';
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
