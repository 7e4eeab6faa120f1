// The agent registers real ECS-like containers' dynamic host ports into target groups
// of the local ELBv2 endpoint, and deregisters them when they go; other hosts' targets
// in the same groups are never touched.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FOREIGN_IP, HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import type { AgentProcess } from '../support/agent-process.ts';

let world: World;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  world = await createWorld({ groups: ['web', 'api'] });
  world.elb.registerForeign(world.groups.web!, [{ id: FOREIGN_IP, port: 31000, availabilityZone: 'all' }]);
  world.elb.registerForeign(world.groups.api!, [{ id: FOREIGN_IP, port: 31001, availabilityZone: 'all' }]);
});

afterEach(async () => {
  await agent?.stop('SIGTERM');
  agent = undefined;
  // After every test (a last test alone would check an empty log): other hosts' targets untouched.
  expect(world.elb.requestLog.some((e) => e.caller === 'AKIDTESTHOST1'), 'the agent made calls').toBe(true);
  expect(world.targets('web')).toContain(foreignWeb);
  expect(world.targets('api')).toContain(foreignApi);
  expect(world.elb.requestLog.filter((e) => (e.targets ?? []).some((t) => t.id === FOREIGN_IP))).toEqual([]);
});

afterAll(async () => {
  await world?.close();
});

const foreignWeb = `${FOREIGN_IP}:31000`;
const foreignApi = `${FOREIGN_IP}:31001`;

describe('agent registration', () => {
  it('fills a group with healthy targets for three containers, then deregisters one that stops', async () => {
    const cs = await Promise.all([1, 2, 3].map(() => world.startContainer({ family: 'web', dockerLabels: targetLabels(world.groups.web!) })));
    agent = world.startAgent();
    await agent.ready();
    const expected = cs.map((c) => `${HOST_IP}:${c.hostPort(8080)}`);
    await world.waitForTargets('web', [...expected, foreignWeb], 'three containers registered');
    // Health checks reach the containers' published ports for real.
    await world.waitForTargets('web', expected, 'our targets healthy', 20_000, ['healthy']);
    const registered = world.snapshot('web').find((t) => t.id === HOST_IP);
    expect(registered?.availabilityZone).toBe('all');

    const line = await agent.waitForLog((l) => l.event === 'registered' && l.target === expected[0], 'registration line');
    expect(line).toMatchObject({ targetGroupArn: world.groups.web, container: cs[0]!.name, taskArn: cs[0]!.taskArn });
    expect(line?.message).toBe(`registered tg/web ${expected[0]}`);

    await cs[1]!.stop(2);
    await world.waitForTargets('web', [expected[0]!, expected[2]!, foreignWeb], 'stopped container left (draining then gone)', 20_000, ['initial', 'healthy', 'unhealthy']);
    await world.waitForTargets('web', [expected[0]!, expected[2]!, foreignWeb], 'drained target removed', 20_000);
    const dereg = await agent.waitForLog((l) => l.event === 'deregistered' && l.target === expected[1], 'deregistration line');
    expect(dereg).toMatchObject({ container: cs[1]!.name, reason: 'container-stopping' });
    await Promise.all(cs.map((c) => c.remove()));
    await world.waitForTargets('web', [foreignWeb], 'all gone after removal');
  });

  it('puts one container into two groups and two tasks of one service into one group', async () => {
    const both = await world.startContainer({
      family: 'multi',
      ports: [8080, 9090],
      dockerLabels: { 'ecs-anywhere-lb.targets': `${world.groups.web}@8080,${world.groups.api}@9090` },
    });
    const taskA = await world.startContainer({ family: 'svc', dockerLabels: targetLabels(world.groups.api!) });
    const taskB = await world.startContainer({ family: 'svc', dockerLabels: targetLabels(world.groups.api!) });
    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('web', [`${HOST_IP}:${both.hostPort(8080)}`, foreignWeb], 'container in web');
    await world.waitForTargets(
      'api',
      [`${HOST_IP}:${both.hostPort(9090)}`, `${HOST_IP}:${taskA.hostPort()}`, `${HOST_IP}:${taskB.hostPort()}`, foreignApi].sort(),
      'container and both tasks in api',
    );
    expect(taskA.hostPort()).not.toBe(taskB.hostPort());
    await Promise.all([both.remove(), taskA.remove(), taskB.remove()]);
    await world.waitForTargets('api', [foreignApi], 'api back to the foreign target only');
    await world.waitForTargets('web', [foreignWeb], 'web back to the foreign target only');
  });

  it('registers a container with a HEALTHCHECK only once healthy, and deregisters it when unhealthy', async () => {
    agent = world.startAgent();
    await agent.ready();
    const c = await world.startContainer({ family: 'hc', healthy: false, healthcheck: { intervalMs: 300, retries: 1 }, dockerLabels: targetLabels(world.groups.web!) });
    const target = `${HOST_IP}:${c.hostPort()}`;
    await c.waitForHealth('unhealthy', 15_000);
    // Not registered while unhealthy: judged once a whole pass has run after the agent heard of it
    // (a fixed pause may end before any pass). A probe container in the other group marks the passes:
    // its registration comes from a pass that started after the health event, its deregistration
    // from a later one, so the first finished before the check.
    await agent.waitForLog((l) => l.event === 'docker-event' && String(l.action).startsWith('health_status') && l.containerId === c.id.slice(0, 12), 'the health event reached the agent');
    const probe = await world.startContainer({ family: 'hc-probe', dockerLabels: targetLabels(world.groups.api!) });
    await world.waitForTargets('api', [`${HOST_IP}:${probe.hostPort()}`, foreignApi].sort(), 'probe registered');
    await probe.remove();
    await world.waitForTargets('api', [foreignApi], 'probe deregistered', 20_000, ['initial', 'healthy', 'unhealthy']);
    expect(world.targets('web')).toEqual([foreignWeb]);

    await c.setHealthy(true);
    await c.waitForHealth('healthy', 15_000);
    await world.waitForTargets('web', [target, foreignWeb].sort(), 'registered once healthy');

    await c.setHealthy(false);
    await c.waitForHealth('unhealthy', 15_000);
    await world.waitForTargets('web', [foreignWeb], 'deregistered when unhealthy', 20_000, ['initial', 'healthy', 'unhealthy']);
    expect((await agent.waitForLog((l) => l.event === 'deregistered' && l.target === target, 'deregistration line')).reason).toBe('container-unhealthy');
    await c.remove();
  });

});
