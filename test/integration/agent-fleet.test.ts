// A fleet member: with --fleet-size 10000 a container change costs exactly one call per
// affected group and no read, and an idle agent makes no read beyond its jittered start-up
// reads however many passes it runs; drift is still repaired, within one drift-repair
// interval. Counted against the endpoint's request log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeregisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { HOST_IP, createWorld, type World } from '../support/agent-world.ts';
import { freeLoopbackAddress } from '../support/free-ports.ts';
import type { RequestLogEntry } from '../support/local-elbv2/index.ts';
import { createTestClient } from '../support/local-elbv2/test-client.ts';
import { waitFor } from '../support/wait.ts';

let world: World;

beforeAll(async () => {
  world = await createWorld({ groups: ['fa', 'fb', 'fc'] });
});

afterAll(async () => {
  await world?.close();
});

/** Requests of one action since `since`, per group name. */
function counts(since: number, action: string): Record<string, number> {
  const out: Record<string, number> = { fa: 0, fb: 0, fc: 0 };
  const byArn = new Map(Object.entries(world.groups).map(([name, arn]) => [arn, name]));
  for (const e of world.elb.requestLog as readonly RequestLogEntry[]) {
    if (e.time < since || e.action !== action) continue;
    const name = byArn.get(e.targetGroupArn ?? '');
    if (name) out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

describe('a fleet member', () => {
  it('--fleet-size 10000: one RegisterTargets and one DeregisterTargets per affected group per change, no read, none while idle', async () => {
    const since = Date.now();
    // One pass per second: over the test, dozens of passes that must not read.
    const metrics = await freeLoopbackAddress();
    const agent = world.startAgent({
      ECS_ANYWHERE_LB_FLEET_SIZE: '10000', ECS_ANYWHERE_LB_RECONCILE_INTERVAL: '1s', ECS_ANYWHERE_LB_HEALTH_THRESHOLD: '120s', ECS_ANYWHERE_LB_METRICS_ADDRESS: metrics.address,
    });
    const passes = async () => Number(/^ecs_anywhere_lb_reconcile_duration_seconds_count (\d+)$/m.exec(await (await fetch(`http://${metrics.address}/metrics`)).text())?.[1]);
    await agent.ready();
    const { fa, fb } = world.groups as Record<string, string>;
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      // Each container in two of the three groups, started and stopped one at a time.
      const c = await world.startContainer({ family: `fleet${i}`, dockerLabels: { 'ecs-anywhere-lb.targets': `${fa},${fb}` } });
      const target = `${HOST_IP}:${c.hostPort()}`;
      ports.push(c.hostPort());
      await world.waitForTargets('fa', [target], `container ${i} registered in fa`);
      await world.waitForTargets('fb', [target], `container ${i} registered in fb`);
      await c.stop(1);
      await world.waitForTargets('fa', [], `container ${i} gone from fa`, 20_000, ['initial', 'healthy', 'unhealthy', 'unused']);
      await world.waitForTargets('fb', [], `container ${i} gone from fb`, 20_000, ['initial', 'healthy', 'unhealthy', 'unused']);
    }
    // Idle: passes keep running (one a second), no change goes out.
    const idleFrom = Date.now();
    const passesBefore = await passes();
    await new Promise((r) => setTimeout(r, 15_000));
    expect((await passes()) - passesBefore, 'periodic passes while idle').toBeGreaterThanOrEqual(10);
    expect(counts(idleFrom, 'RegisterTargets')).toEqual({ fa: 0, fb: 0, fc: 0 });
    expect(counts(idleFrom, 'DeregisterTargets')).toEqual({ fa: 0, fb: 0, fc: 0 });
    expect(counts(since, 'RegisterTargets')).toEqual({ fa: 3, fb: 3, fc: 0 });
    expect(counts(since, 'DeregisterTargets')).toEqual({ fa: 3, fb: 3, fc: 0 });
    // The first read of each group falls somewhere in a 100-minute window (10,000 hosts x 3
    // groups at half the Describe refill): at most one each during this test, none triggered by a change.
    const reads = counts(since, 'DescribeTargetHealth');
    for (const n of Object.values(reads)) expect(n).toBeLessThanOrEqual(1);
    // Each change was one call carrying exactly its target.
    const registered = (world.elb.requestLog as readonly RequestLogEntry[]).filter((e) => e.time >= since && e.action === 'RegisterTargets');
    expect(registered.map((e) => e.targets?.map((t) => t.port))).toEqual(ports.flatMap((p) => [[p], [p]]));
    await agent.stop('SIGTERM');
  }, 90_000);

  it('repairs drift within one drift-repair interval: a target removed behind its back comes back', async () => {
    // A lone host with a 2 s interval: each group is re-read every 2 s (+-10%).
    const agent = world.startAgent({ ECS_ANYWHERE_LB_FLEET_SIZE: '1', ECS_ANYWHERE_LB_RECONCILE_INTERVAL: '2s', ECS_ANYWHERE_LB_HEALTH_THRESHOLD: '10s' });
    await agent.ready();
    const c = await world.startContainer({ family: 'drift', dockerLabels: { 'ecs-anywhere-lb.target-group-arn': world.groups.fc! } });
    const target = `${HOST_IP}:${c.hostPort()}`;
    await world.waitForTargets('fc', [target], 'registered');
    const client = createTestClient(world.elb, { maxAttempts: 1 });
    await client.send(new DeregisterTargetsCommand({ TargetGroupArn: world.groups.fc!, Targets: [{ Id: HOST_IP, Port: c.hostPort(), AvailabilityZone: 'all' }] }));
    const removedAt = Date.now();
    await waitFor(() => world.targets('fc', ['draining']).length === 1, { description: 'removed behind its back' });
    await world.waitForTargets('fc', [target], 'back after one drift-repair interval', 10_000, ['initial', 'healthy', 'unhealthy']);
    // Repaired by the first read of the group after the removal (what "within one interval" means,
    // counted in the agent's own calls rather than timed on a machine that may be busy).
    const agentCalls = world.elb.requestLog.filter((e) => e.caller === 'AKIDTESTHOST1' && e.targetGroupArn === world.groups.fc);
    const removal = world.elb.requestLog.findIndex((e) => e.action === 'DeregisterTargets' && e.caller !== 'AKIDTESTHOST1');
    const after = agentCalls.filter((e) => world.elb.requestLog.indexOf(e) > removal);
    const repairedAt = after.findIndex((e) => e.action === 'RegisterTargets' && e.status === 200);
    expect(after.slice(0, repairedAt).map((e) => e.action), `the agent's calls between removal and repair (${Date.now() - removedAt} ms)`).toEqual(['DescribeTargetHealth']);
    const line = await agent.waitForLog((l) => l.event === 'registered' && l.target === target && l.reason === 'drift-repair', 'drift-repair registration');
    expect(line.targetGroupArn).toBe(world.groups.fc);
    await c.remove();
    await agent.stop('SIGTERM');
  }, 60_000);
});
