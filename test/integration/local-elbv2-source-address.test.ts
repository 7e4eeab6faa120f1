// The endpoint's `sourceAddress`: health checks and listener connections leave from the load
// balancer's own address (here 127.0.0.2, an address of lo other than the kernel's default
// choice 127.0.0.1), which is what a target behind a routed VPN sees and answers through the
// tunnel (npm run e2e:vpn). Without it the kernel picks the source.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalElbv2, type LocalElbv2 } from '../support/local-elbv2/index.ts';
import { waitFor } from '../support/wait.ts';

/** A target that answers 200 and records the peer address of every request, by path. */
async function recordingTarget(): Promise<{ server: Server; port: number; peers: Array<{ path: string; from: string }> }> {
  const peers: Array<{ path: string; from: string }> = [];
  const server = createServer((req, res) => {
    peers.push({ path: req.url ?? '', from: req.socket.remoteAddress ?? '' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, peers };
}

let elb: LocalElbv2 | undefined;
let target: Server | undefined;
afterEach(async () => {
  await elb?.close();
  await new Promise((resolve) => target?.close(resolve));
  elb = undefined;
  target = undefined;
});

describe('local ELBv2 sourceAddress', () => {
  for (const sourceAddress of ['127.0.0.2', undefined]) {
    it(`health checks and forwarded requests come from ${sourceAddress ?? "the kernel's choice (127.0.0.1)"}`, async () => {
      const t = await recordingTarget();
      target = t.server;
      elb = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', healthCheckIntervalMs: 50, ...(sourceAddress ? { sourceAddress } : {}) });
      const arn = await elb.createTargetGroup({ name: 'web', port: 80, healthCheckPath: '/health' });
      elb.registerForeign(arn, [{ id: '10.0.0.5', port: t.port }]);
      const lb = await elb.createListener({ targetGroupArn: arn });
      await waitFor(() => elb?.targets(arn)[0]?.state === 'healthy', { description: 'target healthy', timeoutMs: 10_000, intervalMs: 20 });
      const response = await fetch(`${lb.url}/page`);
      expect(response.status).toBe(200);
      const expected = sourceAddress ?? '127.0.0.1';
      const health = t.peers.filter((p) => p.path === '/health');
      const page = t.peers.filter((p) => p.path === '/page');
      expect(health.length).toBeGreaterThanOrEqual(1);
      expect(page).toHaveLength(1);
      expect(new Set([...health, ...page].map((p) => p.from))).toEqual(new Set([expected]));
    });
  }
});
