// The local load balancer's HTTP listeners over real HTTP: node:http app targets on
// 127.0.0.1 (the endpoint's healthCheckAddress and forward address), targets registered with
// the real SDK, ALB routing judged by which app answered. No Docker needed.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DeregisterTargetsCommand, ModifyTargetGroupAttributesCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAppTarget } from '../support/local-elbv2/app-target-server.ts';
import type { AppTargetServer } from '../support/local-elbv2/app-target-server.ts';
import { startLocalElbv2 } from '../support/local-elbv2/index.ts';
import type { LocalElbv2, LoadBalancerListener } from '../support/local-elbv2/index.ts';
import { createTestClient } from '../support/local-elbv2/test-client.ts';
import { sleep, waitFor } from '../support/wait.ts';

const HOST_IP = '10.8.0.10'; // registered; traffic and checks really go to 127.0.0.1
const INTERVAL_MS = 100;

let elb: LocalElbv2;
let client: ElasticLoadBalancingV2Client;
const apps: AppTargetServer[] = [];
const listeners: LoadBalancerListener[] = [];
let groupCounter = 0;

beforeAll(async () => {
  elb = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', healthCheckIntervalMs: INTERVAL_MS, healthCheckTimeoutMs: 200 });
  client = createTestClient(elb, { maxAttempts: 1 });
});

afterEach(async () => {
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

afterAll(async () => {
  client?.destroy();
  await elb?.close();
});

async function app(name: string): Promise<AppTargetServer> {
  const server = await startAppTarget({ name });
  apps.push(server);
  return server;
}

async function group(deregistrationDelaySeconds = 5): Promise<string> {
  groupCounter += 1;
  return elb.createTargetGroup({
    name: `listener-tg-${groupCounter}`,
    port: 80,
    healthCheckPath: '/health',
    healthyThresholdCount: 2,
    unhealthyThresholdCount: 2,
    deregistrationDelaySeconds,
  });
}

async function listen(targetGroupArn: string, propagationDelayMs = 0): Promise<LoadBalancerListener> {
  const listener = await elb.createListener({ targetGroupArn, propagationDelayMs });
  listeners.push(listener);
  return listener;
}

async function register(arn: string, ...servers: AppTargetServer[]): Promise<void> {
  await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: servers.map((s) => ({ Id: HOST_IP, Port: s.port, AvailabilityZone: 'all' })) }));
}

async function deregister(arn: string, ...servers: AppTargetServer[]): Promise<void> {
  await client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: servers.map((s) => ({ Id: HOST_IP, Port: s.port })) }));
}

async function waitForStates(arn: string, expected: Record<number, string>): Promise<void> {
  const now = () => Object.fromEntries(elb.targets(arn).map((t) => [t.port, t.state]));
  await waitFor(() => Object.entries(expected).every(([port, state]) => now()[Number(port)] === state), {
    description: `states ${JSON.stringify(expected)} (now ${JSON.stringify(now())})`,
    timeoutMs: 5_000,
    intervalMs: 20,
  });
}

interface Answer {
  status: number;
  body: string;
  server: string | null;
}

async function get(listener: LoadBalancerListener, path = '/'): Promise<Answer> {
  const response = await fetch(`${listener.url}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.text()).trim(), server: response.headers.get('server') };
}

async function bodies(listener: LoadBalancerListener, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push((await get(listener)).body);
  return out;
}

function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

describe('routing', () => {
  it('sends new requests only to healthy targets, round-robin among them', async () => {
    const arn = await group();
    const [a, b, c] = [await app('a'), await app('b'), await app('c')];
    c.setHealthStatus(500);
    await register(arn, a, b, c);
    await waitForStates(arn, { [a.port]: 'healthy', [b.port]: 'healthy', [c.port]: 'unhealthy' });
    const listener = await listen(arn);

    const seen = await bodies(listener, 20);
    expect(tally(seen)).toEqual({ a: 10, b: 10 });
    expect(c.traffic()).toBe(0);
    const stats = listener.stats();
    expect(stats.requests).toBe(20);
    expect(stats.failOpen).toBe(0);
    expect(stats.targets[`${HOST_IP}:${a.port}`]).toMatchObject({ routed: 10, completed: 10, inFlight: 0, failed: 0, cut: 0 });
    expect(stats.targets[`${HOST_IP}:${c.port}`]).toBeUndefined();
  });

  it('fails open to every unhealthy target when none is healthy, never to initial (by default) or draining ones', async () => {
    const arn = await group(30);
    const [a, b] = [await app('a'), await app('b')];
    a.setHealthStatus(500);
    b.setHealthStatus(500);
    await register(arn, a, b);
    await waitForStates(arn, { [a.port]: 'unhealthy', [b.port]: 'unhealthy' });
    const listener = await listen(arn);
    expect(tally(await bodies(listener, 10))).toEqual({ a: 5, b: 5 });
    expect(listener.stats().failOpen).toBe(10);

    // A target still initial (its checks hang) is not part of the fail-open set by default; with initial-too it is.
    const c = await app('c');
    c.setHealthHanging(true);
    await register(arn, c);
    const stateOfC = () => elb.targets(arn).find((t) => t.port === c.port)?.state;
    expect(stateOfC()).toBe('initial');
    // Judged request by request on c's state around it: two timed-out checks make c unhealthy (and
    // rightly part of the fail-open set), which a busy machine reaches within a handful of requests.
    const whileInitial: string[] = [];
    for (let i = 0; i < 9; i++) {
      const before = stateOfC();
      const { body } = await get(listener);
      if (before === 'initial' && stateOfC() === 'initial') whileInitial.push(body);
    }
    expect(whileInitial.length, 'requests answered while c was initial').toBeGreaterThan(0);
    expect(whileInitial.filter((body) => body !== 'a' && body !== 'b')).toEqual([]);
    const lenient = await elb.createListener({ targetGroupArn: arn, failOpen: 'initial-too' });
    try {
      expect(new Set(await bodies(lenient, 9))).toEqual(new Set(['a', 'b', 'c']));
    } finally {
      await lenient.close();
    }

    // Draining targets are out even then; with only draining targets left the answer is 503.
    await deregister(arn, a, c);
    expect(new Set(await bodies(listener, 6))).toEqual(new Set(['b']));
    await deregister(arn, b);
    const answer = await get(listener);
    expect(answer.status).toBe(503);
    expect(answer.server).toBe('awselb/2.0');
  });

  it('answers 503 from the load balancer while no target is registered or healthy yet, and routes once one is healthy', async () => {
    const arn = await group();
    const listener = await listen(arn);
    const empty = await get(listener);
    expect(empty).toMatchObject({ status: 503, server: 'awselb/2.0' });
    expect(empty.body).toContain('503 Service Temporarily Unavailable');
    expect(listener.stats().noTarget).toBe(1);

    const a = await app('a');
    a.setHealthHanging(true);
    await register(arn, a);
    // Registered but still initial: no request goes to it yet.
    expect(await get(listener)).toMatchObject({ status: 503, server: 'awselb/2.0' });
    a.setHealthHanging(false);
    await waitForStates(arn, { [a.port]: 'healthy' });
    expect(await get(listener)).toMatchObject({ status: 200, body: 'a' });
  });

  it('answers 502 when the target refuses the connection', async () => {
    const arn = await group();
    const a = await app('a');
    await register(arn, a);
    await waitForStates(arn, { [a.port]: 'healthy' });
    const listener = await listen(arn);
    await a.close(); // still registered and healthy for a moment: the next request meets a closed port
    const answer = await get(listener);
    expect(answer).toMatchObject({ status: 502, server: 'awselb/2.0' });
    expect(listener.stats().targets[`${HOST_IP}:${a.port}`]).toMatchObject({ routed: 1, failed: 1 });
  });

  it('follows load_balancing.algorithm.type=least_outstanding_requests', async () => {
    const arn = await group();
    const [a, b] = [await app('a'), await app('b')];
    await register(arn, a, b);
    await waitForStates(arn, { [a.port]: 'healthy', [b.port]: 'healthy' });
    await client.send(
      new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' }] }),
    );
    const listener = await listen(arn);
    const slow = get(listener, '/?delayMs=1500');
    await waitFor(() => a.traffic() + b.traffic() === 1, { description: 'the slow request reached a target', intervalMs: 10 });
    const busy = a.traffic() === 1 ? 'a' : 'b';
    // Round robin would alternate; least outstanding requests keeps choosing the idle target.
    expect(tally(await bodies(listener, 6))).toEqual({ [busy === 'a' ? 'b' : 'a']: 6 });
    expect((await slow).body).toBe(busy);
  });
});

describe('draining', () => {
  it('lets in-flight requests to a deregistered target finish, and sends it no new ones', async () => {
    const arn = await group(5);
    const [a, b] = [await app('a'), await app('b')];
    await register(arn, a, b);
    await waitForStates(arn, { [a.port]: 'healthy', [b.port]: 'healthy' });
    const listener = await listen(arn);

    // Round robin puts one slow request on each target.
    const slow = [get(listener, '/?delayMs=1500'), get(listener, '/?delayMs=1500')];
    await waitFor(() => a.traffic() === 1 && b.traffic() === 1, { description: 'one slow request on each target', intervalMs: 10 });
    await deregister(arn, a);
    expect(tally(await bodies(listener, 8))).toEqual({ b: 8 });
    expect(a.traffic()).toBe(1);

    const finished = await Promise.all(slow);
    expect(finished.map((answer) => `${answer.status} ${answer.body}`).sort()).toEqual(['200 a', '200 b']);
    expect(listener.stats().targets[`${HOST_IP}:${a.port}`]).toMatchObject({ routed: 1, completed: 1, cut: 0 });
  });

  it('cuts a request still in flight when the deregistration delay ends', async () => {
    const arn = await group(1);
    const a = await app('a');
    await register(arn, a);
    await waitForStates(arn, { [a.port]: 'healthy' });
    const listener = await listen(arn);

    const started = Date.now();
    const slow = get(listener, '/?delayMs=5000');
    await waitFor(() => a.traffic() === 1, { description: 'the slow request reached a', intervalMs: 10 });
    await deregister(arn, a);
    const answer = await slow;
    const tookMs = Date.now() - started;
    expect(answer).toMatchObject({ status: 502, server: 'awselb/2.0' });
    expect(tookMs).toBeGreaterThanOrEqual(900);
    expect(tookMs).toBeLessThan(3_000);
    expect(listener.stats().targets[`${HOST_IP}:${a.port}`]).toMatchObject({ routed: 1, cut: 1, inFlight: 0 });
  });
});

describe('propagation delay', () => {
  it('keeps routing to a deregistered target until the delay passes, and to a new one only after it', async () => {
    const DELAY_MS = 1_000;
    const arn = await group(30);
    const [a, b] = [await app('a'), await app('b')];
    await register(arn, a, b);
    await waitForStates(arn, { [a.port]: 'healthy', [b.port]: 'healthy' });
    const listener = await listen(arn, DELAY_MS);
    expect(listener.propagationDelayMs).toBe(DELAY_MS);

    type Sample = { at: number; body: string; state?: string };
    // Samples until `enough` of them fall more than 150 ms past the delay (a count, not a time span: a busy machine takes fewer samples per second).
    const sample = async (since: number, enough: number, watchPort?: number): Promise<Sample[]> => {
      const samples: Sample[] = [];
      const lateCount = () => samples.filter((s) => s.at > since + DELAY_MS + 150).length;
      while (lateCount() < enough) {
        if (Date.now() - since > 30_000) throw new Error(`only ${lateCount()} of ${enough} samples after the delay within 30 s: ${JSON.stringify(samples.slice(-5))}`);
        const state = elb.targets(arn).find((t) => t.port === watchPort)?.state;
        samples.push({ at: Date.now(), body: (await get(listener)).body, ...(state !== undefined ? { state } : {}) });
        await sleep(20);
      }
      return samples;
    };

    await deregister(arn, a);
    const deregisteredAt = Date.now();
    expect(elb.targets(arn).find((t) => t.port === a.port)?.state).toBe('draining'); // the API view is immediate
    const afterDeregister = await sample(deregisteredAt, 6);
    const early = afterDeregister.filter((s) => s.at < deregisteredAt + DELAY_MS - 150);
    const late = afterDeregister.filter((s) => s.at > deregisteredAt + DELAY_MS + 150);
    expect(early.some((s) => s.body === 'a')).toBe(true);
    expect(late.length).toBeGreaterThanOrEqual(6);
    expect(late.every((s) => s.body === 'b')).toBe(true);

    const c = await app('c');
    await register(arn, c);
    const registeredAt = Date.now();
    const afterRegister = await sample(registeredAt, 6, c.port);
    // The health checks are not delayed: c is healthy in the API well before the routing knows it.
    const healthyEarly = afterRegister.find((s) => s.state === 'healthy' && s.at < registeredAt + DELAY_MS - 300);
    expect(healthyEarly).toBeDefined();
    const before = afterRegister.filter((s) => s.at < registeredAt + DELAY_MS - 150);
    const after = afterRegister.filter((s) => s.at > registeredAt + DELAY_MS + 150);
    expect(before.every((s) => s.body === 'b')).toBe(true);
    expect(after.some((s) => s.body === 'c')).toBe(true);
  });
});

describe('npm run local-elbv2 -- --listener', () => {
  it('starts a listener per --listener GROUP:PORT with the --propagation-delay and prints it in the ready line', async () => {
    const tsx = join(process.cwd(), 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const script = join(process.cwd(), 'scripts', 'local-elbv2.ts');
    const child = spawn(
      process.execPath,
      [tsx, script, '--target-group', 'web', '--listener', 'web:0', '--propagation-delay', '250', '--health-check-address', '127.0.0.1', '--health-check-interval-ms', '100'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const ready = JSON.parse(line) as { url: string; targetGroups: Array<{ name: string; arn: string }>; listeners: Array<{ targetGroup: string; url: string; propagationDelayMs: number }> };
      expect(ready.listeners).toHaveLength(1);
      expect(ready.listeners[0]).toMatchObject({ targetGroup: 'web', propagationDelayMs: 250 });
      const url = ready.listeners[0]?.url ?? '';
      expect((await fetch(url)).status).toBe(503);

      const a = await app('a');
      const cli = createTestClient({ url: ready.url, region: 'us-east-1' }, { maxAttempts: 1 });
      await cli.send(new RegisterTargetsCommand({ TargetGroupArn: ready.targetGroups[0]?.arn, Targets: [{ Id: HOST_IP, Port: a.port, AvailabilityZone: 'all' }] }));
      cli.destroy();
      await waitFor(async () => (await (await fetch(url)).text()).trim() === 'a', { description: 'the CLI listener routes to a', timeoutMs: 5_000 });
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
