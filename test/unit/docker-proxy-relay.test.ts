// The docker-proxy's event stream relay over real unix sockets: the request Docker gets is
// rebuilt from the checked path and query (nothing else the client sent), the answer comes
// through as Docker sent it, chunk by chunk while the stream stays open, and an engine that
// cannot be reached is a 502 naming its socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDockerProxy } from '../../agent/docker/docker-proxy.ts';

let dir: string;
const closers: (() => Promise<void>)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'proxy-relay-'));
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

const listen = (server: Server | ReturnType<typeof createDockerProxy>, path: string) =>
  new Promise<void>((resolve) => server.listen(path, resolve)).then(() => closers.push(() => new Promise<void>((resolve) => server.close(() => resolve()))));

/** A fake engine: records the raw request, answers the event stream's head, then what `send` writes. */
async function fakeEngine(): Promise<{ path: string; request: Promise<string>; send: (text: string) => void; end: () => void }> {
  const path = join(dir, 'engine.sock');
  let socket: Socket | undefined;
  let gotRequest!: (text: string) => void;
  const request = new Promise<string>((resolve) => (gotRequest = resolve));
  const server = createServer((s) => {
    socket = s;
    let text = '';
    s.on('data', (d) => {
      text += d.toString();
      if (!text.includes('\r\n\r\n')) return;
      gotRequest(text);
      s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    });
  });
  closers.push(async () => void socket?.destroy());
  await listen(server, path);
  const chunk = (t: string) => `${Buffer.byteLength(t).toString(16)}\r\n${t}\r\n`;
  return { path, request, send: (t) => socket?.write(chunk(t)), end: () => socket?.end('0\r\n\r\n') };
}

async function proxy(upstreamSocket: string): Promise<{ path: string; errors: Error[] }> {
  const path = join(dir, 'proxy.sock');
  const errors: Error[] = [];
  await listen(createDockerProxy({ upstreamSocket, onUpstreamError: (e) => errors.push(e) }), path);
  return { path, errors };
}

const open = (socketPath: string, path: string, headers: Record<string, string> = {}) =>
  new Promise<IncomingMessage>((resolve, reject) => get({ socketPath, path, headers }, resolve).on('error', reject));

/** Reads the body's chunks as they come, until `n` lines arrived. */
function lines(res: IncomingMessage, n: number): Promise<string[]> {
  let text = '';
  return new Promise((resolve) => {
    res.on('data', (d: Buffer) => {
      text += d.toString();
      const got = text.split('\n').filter(Boolean);
      if (got.length >= n) resolve(got);
    });
  });
}

describe('docker-proxy: the event stream', () => {
  it('sends Docker a request rebuilt from the checked path and query, and relays each event as it comes', async () => {
    const engine = await fakeEngine();
    const p = await proxy(engine.path);
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
    const res = await open(p.path, `/v1.44/events?filters=${filters}`, { cookie: 'secret', 'x-registry-auth': 'token' });
    const raw = await engine.request;
    expect(raw.split('\r\n')).toEqual([`GET /v1.44/events?filters=${filters} HTTP/1.1`, 'Host: docker', 'User-Agent: ecs-anywhere-lb-agent-docker-proxy', 'Connection: close', '', '']);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const first = lines(res, 1);
    engine.send('{"Action":"kill","id":"a"}\n');
    expect(await first).toEqual(['{"Action":"kill","id":"a"}']);
    const second = lines(res, 1);
    engine.send('{"Action":"die","id":"a"}\n');
    expect(await second).toEqual(['{"Action":"die","id":"a"}']);
    const ended = new Promise((resolve) => res.on('end', resolve));
    engine.end();
    await ended;
    expect(p.errors).toEqual([]);
  });

  it('answers 502 naming the engine socket when Docker cannot be reached', async () => {
    const missing = join(dir, 'no-engine.sock');
    const p = await proxy(missing);
    const res = await open(p.path, '/events');
    const body = await new Promise<string>((resolve) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(text));
    });
    expect(res.statusCode).toBe(502);
    expect(JSON.parse(body).message).toContain(`cannot reach Docker at ${missing}`);
    expect(p.errors).toHaveLength(1);
  });
});
