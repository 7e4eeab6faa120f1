// The agent across lifecycles: deregistration at `kill` (before the app exits), a crash
// (SIGKILL) with containers changing meanwhile, drift repaired by the periodic run, and
// what SIGTERM does with --on-exit deregister, keep and auto.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FOREIGN_IP, HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import { tempDir, type AgentProcess } from '../support/agent-process.ts';

let world: World;
let agent: AgentProcess | undefined;
const foreign = `${FOREIGN_IP}:31000`;

beforeAll(async () => {
  world = await createWorld({ groups: ['life'] });
  world.elb.registerForeign(world.groups.life!, [{ id: FOREIGN_IP, port: 31000, availabilityZone: 'all' }]);
});

afterEach(async () => {
  await agent?.stop('SIGKILL');
  agent = undefined;
  // After every test (not once at the end, which a test run alone would reach with an empty log):
  // the agent called the endpoint, never named the other host's target, and that target is still there.
  expect(world.elb.requestLog.some((e) => e.caller === 'AKIDTESTHOST1'), 'the agent made calls').toBe(true);
  expect(world.elb.requestLog.filter((e) => (e.targets ?? []).some((t) => t.id === FOREIGN_IP))).toEqual([]);
  expect(world.targets('life')).toContain(foreign);
});

afterAll(async () => {
  await world?.close();
});

const labels = () => targetLabels(world.groups.life!);
const ours = (c: { hostPort(p?: number): number }) => `${HOST_IP}:${c.hostPort()}`;

describe('agent lifecycle', () => {
  it('requests deregistration at kill, while the container still serves its grace period', async () => {
    const c = await world.startContainer({ family: 'grace', stopGraceSec: 3, dockerLabels: labels() });
    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('life', [ours(c), foreign].sort(), 'registered');
    world.elb.clearRequestLog();

    const stopStarted = Date.now();
    await c.stop(10);
    const info = await c.inspect();
    const exitedAt = Date.parse(info.State.FinishedAt);
    const dereg = world.elb.requestLog.find((e) => e.action === 'DeregisterTargets' && (e.targets ?? []).some((t) => t.id === HOST_IP));
    expect(dereg, 'a DeregisterTargets call for our target').toBeDefined();
    // The app kept serving ~3 s after SIGTERM; the load balancer heard about it long before it exited.
    expect(exitedAt - stopStarted).toBeGreaterThan(2500);
    expect(dereg!.time).toBeLessThan(exitedAt - 1500);
    expect(world.targets('life')).toContain(foreign);
    await c.remove();
  });

  it('treats the container\'s own STOPSIGNAL like SIGTERM (deregistered at kill)', async () => {
    // SIGUSR1 stands in for nginx's SIGQUIT or httpd's SIGWINCH: not a usual stop signal.
    const c = await world.startContainer({ family: 'stopsignal', stopSignal: 'SIGUSR1', dockerLabels: labels() });
    const other = await world.startContainer({ family: 'stopsignal', dockerLabels: labels() });
    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('life', [ours(c), ours(other), foreign].sort(), 'registered');
    // A signal that is not the container's stop signal leaves it registered.
    await other.kill('SIGUSR1');
    // PID 1 ignores SIGUSR1, so the container lives until Docker's SIGKILL 3 s later.
    await c.stop(3);
    const exitedAt = Date.parse((await c.inspect()).State.FinishedAt);
    await world.waitForTargets('life', [ours(other), foreign].sort(), 'own-stop-signal container deregistered', 20_000, ['initial', 'healthy', 'unhealthy']);
    const line = await agent.waitForLog((l) => l.event === 'deregistered' && l.target === ours(c), 'deregistration line');
    expect(line.reason).toBe('container-stopping');
    const dereg = world.elb.requestLog.find((e) => e.action === 'DeregisterTargets' && (e.targets ?? []).some((t) => `${t.id}:${t.port}` === ours(c)));
    expect(dereg!.time).toBeLessThan(exitedAt - 1500);
    await Promise.all([c.remove(), other.remove()]);
  });

  it('converges after a SIGKILL while containers started and stopped meanwhile', async () => {
    const keep = await world.startContainer({ family: 'crash', dockerLabels: labels() });
    const goes = await world.startContainer({ family: 'crash', dockerLabels: labels() });
    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('life', [ours(keep), ours(goes), foreign].sort(), 'both registered');

    expect(await agent.stop('SIGKILL')).toBeNull();
    await goes.remove();
    const added = await world.startContainer({ family: 'crash', dockerLabels: labels() });
    expect(world.targets('life')).toContain(ours(goes));

    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('life', [ours(keep), ours(added), foreign].sort(), 'stale gone, new present', 20_000, ['initial', 'healthy', 'unhealthy']);
    await Promise.all([keep.remove(), added.remove()]);
    await world.waitForTargets('life', [foreign], 'cleaned up', 20_000, ['initial', 'healthy', 'unhealthy']);
  });

  it('repairs drift on the periodic run: a target removed by hand comes back, a stale one goes', async () => {
    const c = await world.startContainer({ family: 'drift', dockerLabels: labels() });
    agent = world.startAgent({ ECS_ANYWHERE_LB_RECONCILE_INTERVAL: '1s' });
    await agent.ready();
    await world.waitForTargets('life', [ours(c), foreign].sort(), 'registered');
    // Someone deregisters ours by hand and registers a stale one on our address.
    const sdkCall = async (action: string, targets: string) => {
      const res = await fetch(world.elb.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=AKIDOPERATOR/20261123/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=0' },
        body: `Action=${action}&Version=2015-12-01&TargetGroupArn=${encodeURIComponent(world.groups.life!)}&${targets}`,
      });
      expect(res.status).toBe(200);
    };
    await sdkCall('DeregisterTargets', `Targets.member.1.Id=${HOST_IP}&Targets.member.1.Port=${c.hostPort()}&Targets.member.1.AvailabilityZone=all`);
    await sdkCall('RegisterTargets', `Targets.member.1.Id=${HOST_IP}&Targets.member.1.Port=40999&Targets.member.1.AvailabilityZone=all`);
    await world.waitForTargets('life', [ours(c), foreign].sort(), 'drift repaired', 15_000, ['initial', 'healthy', 'unhealthy']);
    await agent.waitForLog((l) => l.event === 'registered' && l.target === ours(c) && l.reason === 'drift-repair', 'drift-repair registration line');
    await c.remove();
    await world.waitForTargets('life', [foreign], 'cleaned up', 20_000, ['initial', 'healthy', 'unhealthy']);
  });

  it('SIGTERM with --on-exit keep leaves targets registered (no blip on restart)', async () => {
    const c = await world.startContainer({ family: 'keep', dockerLabels: labels() });
    agent = world.startAgent({ ECS_ANYWHERE_LB_ON_EXIT: 'keep' });
    await agent.ready();
    await world.waitForTargets('life', [ours(c), foreign].sort(), 'registered');
    expect(await agent.stop('SIGTERM')).toBe(0);
    expect(world.targets('life', ['initial', 'healthy', 'unhealthy'])).toEqual([ours(c), foreign].sort());
    expect(agent.find((l) => l.event === 'stopped')).toHaveLength(1);
    await c.remove();
    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('life', [foreign], 'removed container cleaned by the next agent', 20_000, ['initial', 'healthy', 'unhealthy']);
  });

  it('SIGTERM with --on-exit deregister deregisters every owned target and waits for draining', async () => {
    const a = await world.startContainer({ family: 'dereg', dockerLabels: labels() });
    const b = await world.startContainer({ family: 'dereg', dockerLabels: labels() });
    agent = world.startAgent({ ECS_ANYWHERE_LB_ON_EXIT: 'deregister', ECS_ANYWHERE_LB_DRAIN_TIMEOUT: '20s' });
    await agent.ready();
    await world.waitForTargets('life', [ours(a), ours(b), foreign].sort(), 'registered');
    expect(await agent.stop('SIGTERM')).toBe(0);
    // Draining (1 s delay) finished before the agent exited.
    expect(world.targets('life')).toEqual([foreign]);
    expect(agent.find((l) => l.event === 'drained')[0]?.remaining).toBe(0);
    // Its own two, at exit. (A record an earlier agent was SIGKILLed before saving away may be cleaned up at start too: container-gone.)
    expect(agent.find((l) => l.event === 'deregistered' && [ours(a), ours(b)].includes(String(l.target))).map((l) => l.reason)).toEqual(['agent-exit', 'agent-exit']);
    await Promise.all([a.remove(), b.remove()]);
  });

  it('SIGTERM with --on-exit auto deregisters only when systemd says the host is stopping', async () => {
    const bin = tempDir('ecslb-fake-systemctl-');
    const systemctl = join(bin.path, 'systemctl');
    const c = await world.startContainer({ family: 'auto', dockerLabels: labels() });
    try {
      writeFileSync(systemctl, '#!/bin/sh\necho running\nexit 0\n');
      chmodSync(systemctl, 0o755);
      agent = world.startAgent({ ECS_ANYWHERE_LB_ON_EXIT: 'auto', PATH: `${bin.path}:${process.env.PATH}` });
      await agent.ready();
      await world.waitForTargets('life', [ours(c), foreign].sort(), 'registered');
      expect(await agent.stop('SIGTERM')).toBe(0);
      expect(world.targets('life')).toContain(ours(c));
      expect(agent.find((l) => l.event === 'exit-decision')[0]?.deregister).toBe(false);

      writeFileSync(systemctl, '#!/bin/sh\necho stopping\nexit 1\n');
      agent = world.startAgent({ ECS_ANYWHERE_LB_ON_EXIT: 'auto', ECS_ANYWHERE_LB_DRAIN_TIMEOUT: '20s', PATH: `${bin.path}:${process.env.PATH}` });
      await agent.ready();
      expect(await agent.stop('SIGTERM')).toBe(0);
      expect(agent.find((l) => l.event === 'exit-decision')[0]?.deregister).toBe(true);
      expect(world.targets('life')).toEqual([foreign]);
    } finally {
      await c.remove();
      bin.remove();
    }
  });

});
