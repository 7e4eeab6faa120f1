// Observability: --metrics-address serves Prometheus text whose numbers match what the agent
// did (checked against the local endpoint's request log), and /healthz turns 503 while the
// ELB API or Docker has been unreachable beyond --health-threshold, and 200 again after.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDockerHost } from '../support/docker-engine.ts';
import { FOREIGN_IP, HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import { tempDir, type AgentProcess } from '../support/agent-process.ts';
import type { EcsContainer } from '../support/ecs-container.ts';
import { freeLoopbackAddress } from '../support/free-ports.ts';
import { namingProblems, parsePrometheusText, sampleValue, type Family } from '../support/prometheus-text.ts';
import { startSocketProxy } from '../support/socket-proxy.ts';
import { waitFor } from '../support/wait.ts';

const PREFIX = 'ecs_anywhere_lb';
const CALLER = 'AKIDTESTHOST1';
let world: World;
let agent: AgentProcess | undefined;
const containers: EcsContainer[] = [];
const foreignA = `${FOREIGN_IP}:31000`;
const foreignB = `${FOREIGN_IP}:31001`;

beforeAll(async () => {
  world = await createWorld({ groups: ['met-a', 'met-b'] });
  world.elb.registerForeign(world.groups['met-a']!, [{ id: FOREIGN_IP, port: 31000, availabilityZone: 'all' }]);
  world.elb.registerForeign(world.groups['met-b']!, [{ id: FOREIGN_IP, port: 31001, availabilityZone: 'all' }]);
});

afterEach(async () => {
  world.elb.clearFaults();
  world.elb.setAllowedTargetGroups(undefined);
  await agent?.stop('SIGKILL');
  agent = undefined;
  await Promise.all(containers.splice(0).map((c) => c.remove()));
});

afterAll(async () => {
  await world?.close();
});

async function startWithMetrics(extra: Record<string, string> = {}): Promise<{ a: AgentProcess; base: string }> {
  const { address } = await freeLoopbackAddress();
  const a = world.startAgent({ ECS_ANYWHERE_LB_METRICS_ADDRESS: address, ...extra });
  agent = a;
  await a.waitForLog((l) => l.event === 'metrics-listening', 'metrics server listening');
  await a.ready();
  return { a, base: `http://${address}` };
}

async function scrape(base: string): Promise<Map<string, Family>> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  return parsePrometheusText(await res.text());
}

const health = async (base: string) => {
  const res = await fetch(`${base}/healthz`);
  return { status: res.status, body: await res.text() };
};

const ours = (c: EcsContainer) => `${HOST_IP}:${c.hostPort()}`;
const add = async (group: string) => {
  const c = await world.startContainer({ family: `met-${group}`, dockerLabels: targetLabels(world.groups[group]!) });
  containers.push(c);
  return c;
};

/** Requests the agent sent, by action and by action+code, from the endpoint's log. */
function fromRequestLog(since: number) {
  const calls = new Map<string, number>();
  const errors = new Map<string, number>();
  for (const e of world.elb.requestLog) {
    if (e.time < since || e.caller !== CALLER) continue;
    calls.set(e.action, (calls.get(e.action) ?? 0) + 1);
    if (e.status !== 200) {
      const key = `${e.action}|${e.errorCode ?? 'dropped'}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  }
  return { calls, errors };
}

describe('agent metrics', () => {
  it('serves numbers that match what happened, with conventional names', async () => {
    const a1 = await add('met-a');
    const a2 = await add('met-a');
    const b1 = await add('met-b');
    const since = Date.now();
    // No periodic run during the test: every call comes from a change the test makes.
    const { base } = await startWithMetrics({ ECS_ANYWHERE_LB_RECONCILE_INTERVAL: '60s' });
    await world.waitForTargets('met-a', [ours(a1), ours(a2), foreignA], 'registered');
    await world.waitForTargets('met-b', [ours(b1), foreignB], 'registered');

    // The counters move when the calls' answers arrive, which the endpoint's state can show first.
    let m = await waitFor(async () => {
      const families = await scrape(base);
      return sampleValue(families, `${PREFIX}_registrations_total`) === 3 && sampleValue(families, `${PREFIX}_owned_targets`) === 3 ? families : undefined;
    }, { description: 'three registrations counted', timeoutMs: 10_000 }).catch(() => scrape(base));
    for (const f of m.values()) expect(namingProblems(f, PREFIX), f.name).toEqual([]);
    expect(sampleValue(m, `${PREFIX}_registrations_total`)).toBe(3);
    expect(sampleValue(m, `${PREFIX}_deregistrations_total`)).toBe(0);
    expect(sampleValue(m, `${PREFIX}_owned_targets`)).toBe(3);
    expect(sampleValue(m, `${PREFIX}_host_address_info`, { address: HOST_IP })).toBe(1);
    expect(sampleValue(m, `${PREFIX}_reconcile_duration_seconds_count`)).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, `${PREFIX}_reconcile_duration_seconds_sum`)).toBeGreaterThan(0);
    const lastOk = sampleValue(m, `${PREFIX}_last_successful_reconcile_timestamp_seconds`)!;
    expect(Math.abs(Date.now() / 1000 - lastOk)).toBeLessThan(10);

    await a2.remove();
    await world.waitForTargets('met-a', [ours(a1), foreignA], 'a2 deregistered', 20_000, ['initial', 'healthy', 'unhealthy']);
    // IAM refuses changes in met-a: a new container there gets AccessDenied (a permanent error).
    world.elb.setAllowedTargetGroups([world.groups['met-b']!]);
    await add('met-a');
    await waitFor(() => fromRequestLog(since).errors.get('RegisterTargets|AccessDenied'), { description: 'AccessDenied seen' });
    // Two throttled requests: the SDK retries them and the calls succeed.
    world.elb.setFaults({ throttle: 1, times: 2 });
    const b2 = await add('met-b');
    await world.waitForTargets('met-b', [ours(b1), ours(b2), foreignB], 'registered after throttling');
    await waitFor(() => world.elb.faults().times === 0, { description: 'both throttles spent' });

    // One count per HTTP request the endpoint saw, the SDK's retries included. The agent counts a
    // call when its answer arrives, the endpoint when the request does: the two agree once the
    // last answer is in (a count the agent never makes, or makes twice, never agrees).
    const counts = async () => {
      const families = await scrape(base);
      const log = fromRequestLog(since);
      const metricCalls = new Map(families.get(`${PREFIX}_api_calls_total`)!.samples.map((s) => [s.labels.action!, s.value]));
      const metricErrors = new Map(families.get(`${PREFIX}_api_errors_total`)!.samples.map((s) => [`${s.labels.action}|${s.labels.code}`, s.value]));
      return { families, log, metricCalls, metricErrors };
    };
    const same = (a: Map<string, number>, b: Map<string, number>) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
    let seen = await counts();
    await waitFor(
      async () => {
        seen = await counts();
        // The target counters move after the call's answer too (4 registrations, 1 deregistration so far).
        const targetsCounted = sampleValue(seen.families, `${PREFIX}_registrations_total`) === 4 && sampleValue(seen.families, `${PREFIX}_deregistrations_total`) === 1;
        return targetsCounted && same(seen.metricCalls, seen.log.calls) && same(seen.metricErrors, seen.log.errors);
      },
      { description: 'the metrics count the requests the endpoint logged and the targets changed', timeoutMs: 10_000 },
    ).catch(() => undefined);
    const { log, metricCalls, metricErrors } = seen;
    m = seen.families;
    console.log(JSON.stringify({ scenario: 'metrics-vs-request-log', metricCalls: Object.fromEntries(metricCalls), logCalls: Object.fromEntries(log.calls), metricErrors: Object.fromEntries(metricErrors) }));
    expect(metricCalls).toEqual(log.calls);
    expect(metricErrors).toEqual(log.errors);
    expect(metricErrors.get('RegisterTargets|AccessDenied')).toBeGreaterThanOrEqual(1);
    expect([...metricErrors].filter(([k]) => k.endsWith('|Throttling')).reduce((n, [, v]) => n + v, 0)).toBe(2);
    expect(sampleValue(m, `${PREFIX}_registrations_total`)).toBe(4);
    expect(sampleValue(m, `${PREFIX}_deregistrations_total`)).toBe(1);
    expect(sampleValue(m, `${PREFIX}_owned_targets`)).toBe(3);

    // The endpoint is loopback only and answers nothing else.
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('/healthz: 200 normally, 503 while the ELB API is down beyond the threshold, 200 after recovery', async () => {
    const c = await add('met-a');
    const { base } = await startWithMetrics({ ECS_ANYWHERE_LB_RECONCILE_INTERVAL: '1s', ECS_ANYWHERE_LB_HEALTH_THRESHOLD: '3s', ECS_ANYWHERE_LB_RETRY_MAX_DELAY: '2s' });
    await world.waitForTargets('met-a', [ours(c), foreignA], 'registered');
    expect(await health(base)).toEqual({ status: 200, body: 'ok\n' });

    const down = Date.now();
    world.elb.setFaults({ dropConnection: 1 });
    // Healthy through the first failures, while they are younger than the threshold: asked once
    // a call has failed (a fixed pause could end before any call), judged by that failure's age.
    const firstDrop = await waitFor(() => world.elb.requestLog.find((e) => e.time >= down && e.status === 0), { description: 'a dropped call', timeoutMs: 10_000, intervalMs: 20 });
    const early = await health(base);
    const failureAgeMs = Date.now() - firstDrop.time;
    expect(failureAgeMs, 'asked before the first failure was 3 s old').toBeLessThan(3000);
    expect(early.status).toBe(200);
    const unhealthy = await waitFor(async () => ((await health(base)).status === 503 ? health(base) : undefined), { description: '/healthz 503', timeoutMs: 15_000, intervalMs: 200 });
    const unhealthyAfterMs = Date.now() - down;
    expect(unhealthy.body).toMatch(/^ELB API unreachable for \d+ s\n$/);
    expect(unhealthyAfterMs).toBeGreaterThanOrEqual(3000);
    const m = await scrape(base);
    const dropped = m.get(`${PREFIX}_api_errors_total`)!.samples.filter((s) => s.labels.action === 'DescribeTargetHealth' && s.labels.code !== 'Throttling');
    expect(dropped.length, 'dropped connections counted under their network error code').toBeGreaterThan(0);

    const up = Date.now();
    world.elb.clearFaults();
    await waitFor(async () => (await health(base)).status === 200, { description: '/healthz 200 again', timeoutMs: 10_000, intervalMs: 100 });
    const healthyAfterMs = Date.now() - up;
    console.log(JSON.stringify({ scenario: 'healthz-elb-down', thresholdMs: 3000, unhealthyAfterMs, healthyAfterMs, errorCodes: dropped.map((s) => s.labels.code) }));
    expect(healthyAfterMs).toBeLessThanOrEqual(2000 + 3000);
  });

  // The engine is reached through a unix socket proxy the test can cut: a TCP engine (DOCKER_HOST=tcp://) has no socket to proxy.
  const engineSocket = parseDockerHost(inject('dockerHost') || process.env.DOCKER_HOST || '').socketPath;
  it.skipIf(engineSocket === undefined)('/healthz: 503 while Docker is unreachable beyond the threshold, without blaming the ELB API', async () => {
    const dir = tempDir('ecslb-metrics-proxy-');
    const target = engineSocket!;
    const proxy = await startSocketProxy(join(dir.path, 'docker.sock'), target);
    try {
      const { base } = await startWithMetrics({ DOCKER_HOST: proxy.dockerHost, ECS_ANYWHERE_LB_RECONCILE_INTERVAL: '1s', ECS_ANYWHERE_LB_HEALTH_THRESHOLD: '3s', ECS_ANYWHERE_LB_RETRY_MAX_DELAY: '2s' });
      expect((await health(base)).status).toBe(200);
      const down = Date.now();
      proxy.cut();
      const unhealthy = await waitFor(async () => ((await health(base)).status === 503 ? health(base) : undefined), { description: '/healthz 503', timeoutMs: 15_000, intervalMs: 200 });
      expect(unhealthy.body).toMatch(/^Docker unreachable for \d+ s\n$/);
      const unhealthyAfterMs = Date.now() - down;
      const up = Date.now();
      proxy.restore();
      await waitFor(async () => (await health(base)).status === 200, { description: '/healthz 200 again', timeoutMs: 15_000, intervalMs: 100 });
      console.log(JSON.stringify({ scenario: 'healthz-docker-down', thresholdMs: 3000, unhealthyAfterMs, healthyAfterMs: Date.now() - up }));
    } finally {
      await agent?.stop('SIGKILL');
      await proxy.close();
      dir.remove();
    }
  });
});
