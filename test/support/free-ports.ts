// Ports for tests on a machine other sessions share. A port the kernel hands out (listen on
// port 0) lies in the ephemeral range, where the kernel also picks other processes' outgoing
// ports and Docker picks other containers' published ports: free when asked, it can be taken
// before the test binds it. These helpers pick where nobody else picks.
import { readFileSync } from 'node:fs';
import * as net from 'node:net';

/** Lowest port `freeTcpPort` picks from (below it: well-known services). */
export const FIXED_PORT_FLOOR = 10_000;

/** The kernel's ephemeral range (ip_local_port_range), Linux's default when unreadable. */
export function ephemeralPortRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return { low, high };
  } catch {
    // not Linux, or /proc not mounted
  }
  return { low: 32768, high: 60999 };
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port nothing listens on right now, on every address (for host network mode and fixed
 * host ports), chosen at random below the ephemeral range so that neither the kernel nor
 * Docker's dynamic ports hand it to someone else before the test binds it.
 */
export async function freeTcpPort(): Promise<number> {
  const ceiling = ephemeralPortRange().low;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = FIXED_PORT_FLOOR + Math.floor(Math.random() * (ceiling - FIXED_PORT_FLOOR));
    if (await canListen(port, '0.0.0.0')) return port;
  }
  throw new Error(`no free TCP port found in ${FIXED_PORT_FLOOR}-${ceiling - 1} after 50 tries`);
}

/**
 * A free `HOST:PORT` on a loopback address of its own (127.x.y.z, not 127.0.0.1), for a
 * server the agent starts itself (--metrics-address): no other process binds or connects
 * from that address, so the port stays free until the agent takes it.
 */
export async function freeLoopbackAddress(): Promise<{ host: string; port: number; address: string }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const host = `127.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
    const port = FIXED_PORT_FLOOR + Math.floor(Math.random() * (ephemeralPortRange().low - FIXED_PORT_FLOOR));
    if (await canListen(port, host)) return { host, port, address: `${host}:${port}` };
  }
  throw new Error('no free loopback address found after 50 tries');
}
