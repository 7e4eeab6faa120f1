// Bursts against the real agent, engine and endpoint: 100 containers across 3 groups started
// together, then stopped together. Every target must arrive (and leave), each group's changes
// travelling in a few calls, not one per container. The times are the bench's (`npm run
// bench`), printed here only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import type { AgentProcess } from '../support/agent-process.ts';
import type { EcsContainer } from '../support/ecs-container.ts';

const COUNT = 100;
const GROUPS = ['burst0', 'burst1', 'burst2'];
/** Issue 11's bound: at most this many calls per group for the whole burst. */
const MAX_CALLS_PER_GROUP = 5;

let world: World;
let agent: AgentProcess;
const containers: EcsContainer[] = [];

beforeAll(async () => {
  world = await createWorld({ groups: GROUPS, deregistrationDelaySeconds: 0 });
  agent = world.startAgent({ ECS_ANYWHERE_LB_LOG_LEVEL: 'info' });
  await agent.ready();
});

afterAll(async () => {
  await Promise.all(containers.splice(0).map((c) => c.remove().catch(() => undefined)));
  await world?.close();
});

const groupOf = (i: number) => GROUPS[i % GROUPS.length] as string;
const callsPerGroup = (action: string, since: number) =>
  GROUPS.map((g) => world.elb.requestLog.slice(since).filter((e) => e.action === action && e.status === 200 && e.targetGroupArn === world.groups[g]).length);

describe('bursts', () => {
  it(`${COUNT} containers started together across ${GROUPS.length} groups: every target registered, at most ${MAX_CALLS_PER_GROUP} RegisterTargets per group`, async () => {
    const mark = world.elb.requestLog.length;
    const startedAt = Date.now();
    containers.push(...(await Promise.all(Array.from({ length: COUNT }, (_, i) => world.startContainer({ family: `burst${i % 3}`, dockerLabels: targetLabels(world.groups[groupOf(i)]!), waitUntilServing: false })))));
    const dockerMs = Date.now() - startedAt;
    const expected = (g: string) => containers.filter((_, i) => groupOf(i) === g).map((c) => `${HOST_IP}:${c.hostPort()}`).sort();
    for (const g of GROUPS) await world.waitForTargets(g, expected(g), `burst registered in ${g}`, 60_000);
    const calls = callsPerGroup('RegisterTargets', mark);
    console.log(`[agent-bursts] start: Docker ${dockerMs} ms, all registered ${Date.now() - startedAt} ms, RegisterTargets per group ${calls.join(', ')}`);
    for (const n of calls) expect(n).toBeLessThanOrEqual(MAX_CALLS_PER_GROUP);
  });

  it(`the same ${COUNT} stopped together: every target deregistered, at most ${MAX_CALLS_PER_GROUP} DeregisterTargets per group`, async () => {
    const mark = world.elb.requestLog.length;
    const stoppingAt = Date.now();
    await Promise.all(containers.map((c) => c.stop(1)));
    const dockerMs = Date.now() - stoppingAt;
    for (const g of GROUPS) await world.waitForTargets(g, [], `burst deregistered from ${g}`, 60_000);
    const calls = callsPerGroup('DeregisterTargets', mark);
    console.log(`[agent-bursts] stop: Docker ${dockerMs} ms, all deregistered ${Date.now() - stoppingAt} ms, DeregisterTargets per group ${calls.join(', ')}`);
    for (const n of calls) expect(n).toBeLessThanOrEqual(MAX_CALLS_PER_GROUP);
    expect(agent.find((l) => l.level === 'error')).toEqual([]);
  });
});
