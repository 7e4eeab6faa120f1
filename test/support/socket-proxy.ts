// A unix-socket proxy in front of a Docker engine that a test can cut and restore: the
// agent's event stream breaks exactly as it would when a connection dies, without
// restarting the engine. It records the request line of every request, so a
// test can see what the agent asked for (e.g. `GET /v1.41/events?since=...`).
import * as fs from 'node:fs';
import * as net from 'node:net';

const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.[01]$/;

/** A running proxy; `dockerHost` is what the client under test should use. */
export interface SocketProxy {
  readonly dockerHost: string;
  readonly socketPath: string;
  /** Request line of each request, oldest first, with when it arrived. */
  readonly requests: { time: number; line: string }[];
  /** Destroys every open connection and refuses new ones until restore(). */
  cut(): void;
  /** While on, an events request gets its response headers and then the connection closes (an engine that accepts and drops). */
  dropEventStreams(on: boolean): void;
  restore(): void;
  close(): Promise<void>;
}

/** Listens on `socketPath` and forwards each connection to the engine socket `target`. */
export async function startSocketProxy(socketPath: string, target: string): Promise<SocketProxy> {
  fs.rmSync(socketPath, { force: true });
  const open = new Set<net.Socket>();
  const requests: { time: number; line: string }[] = [];
  let refusing = false;
  let dropEvents = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target);
    open.add(client);
    open.add(upstream);
    client.on('data', (chunk: Buffer) => {
      // Keep-alive connections carry several requests: look at every chunk that starts one.
      const line = chunk.toString('latin1', 0, Math.min(chunk.length, 2048)).split('\r\n', 1)[0] ?? '';
      if (!REQUEST_LINE.test(line)) return;
      requests.push({ time: Date.now(), line });
      if (dropEvents && line.includes('/events')) {
        upstream.once('data', () => setImmediate(() => {
          client.end();
          upstream.destroy();
        }));
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    dockerHost: `unix://${socketPath}`,
    socketPath,
    requests,
    cut() {
      refusing = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore() {
      refusing = false;
    },
    dropEventStreams(on) {
      dropEvents = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
