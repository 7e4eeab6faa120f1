// A unix-socket proxy in front of a Docker engine that a test can cut and restore: the
// agent's event stream breaks exactly as it would when a connection dies, without
// restarting the engine. It records the first request line of every connection, so a
// test can see what the agent asked for (e.g. `GET /v1.41/events?since=...`).
import * as fs from 'node:fs';
import * as net from 'node:net';

/** A running proxy; `dockerHost` is what the client under test should use. */
export interface SocketProxy {
  readonly dockerHost: string;
  readonly socketPath: string;
  /** First request line of each connection, oldest first, with when it arrived. */
  readonly requests: { time: number; line: string }[];
  /** Destroys every open connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Listens on `socketPath` and forwards each connection to the engine socket `target`. */
export async function startSocketProxy(socketPath: string, target: string): Promise<SocketProxy> {
  fs.rmSync(socketPath, { force: true });
  const open = new Set<net.Socket>();
  const requests: { time: number; line: string }[] = [];
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target);
    open.add(client);
    open.add(upstream);
    let first = true;
    client.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        requests.push({ time: Date.now(), line: chunk.toString('latin1').split('\r\n', 1)[0] ?? '' });
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
