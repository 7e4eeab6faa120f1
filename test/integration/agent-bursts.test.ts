// Bursts against the real agent, engine and endpoint: 100 containers across 3 groups started
// together, then stopped together, with the local endpoint throttling as an account does by
// default (the buckets of agent/fleet/api-budget.ts: changes 4/s, burst 20; Describe* 10/s,
// burst 40). Every target must arrive (and leave) within 1.2x the time Docker itself takes to
// start (stop) the containers, and no call may be throttled: the agent spends the account's
// budget, it does not overdraw it. The calls per group are printed (the bench reports them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';
import type { RequestLogEntry } from '../support/local-elbv2/index.ts';
import { HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import type { AgentProcess } from '../support/agent-process.ts';
import type { EcsContainer } from '../support/ecs-container.ts';
import { waitFor } from '../support/wait.ts';

const COUNT = 100;
const GROUPS = ['burst0', 'burst1', 'burst2'];
/** The bound: every target in (or out) within this many times Docker's own time. */
const MAX_RATIO = 1.2;
/** Docker's own time for the burst, at most: beyond it the machine is too loaded to judge anything (said so). */
const DOCKER_MAX_MS = 150_000;
/** After Docker is done, the agent's last call is waited for this long at most: past the bound, with room for a clear message. */
const agentWaitMs = (dockerMs: number) => Math.round((MAX_RATIO - 1) * dockerMs) + 15_000;
/** Every wait of a test fits in its timeout: Docker's bound, the agent's wait after it, and the checks. */
const TEST_TIMEOUT_MS = DOCKER_MAX_MS + agentWaitMs(DOCKER_MAX_MS) + 20_000;

const account = DEFAULT_ELB_API_LIMITS;
let world: World;
let agent: AgentProcess;
const containers: EcsContainer[] = [];

beforeAll(async () => {
  world = await createWorld({
    groups: GROUPS,
    deregistrationDelaySeconds: 0,
    elb: {
      accountThrottle: {
        change: { ratePerSecond: account.change.perSecond, burst: account.change.burst },
        describe: { ratePerSecond: account.describe.perSecond, burst: account.describe.burst },
      },
    },
  });
  agent = world.startAgent({ ECS_ANYWHERE_LB_LOG_LEVEL: 'info' });
  await agent.ready();
});

afterAll(async () => {
  await Promise.all(containers.splice(0).map((c) => c.remove().catch(() => undefined)));
  await world?.close();
});

const groupOf = (i: number) => GROUPS[i % GROUPS.length] as string;
const targetOf = (c: EcsContainer) => `${HOST_IP}:${c.hostPort()}`;

/** When the first answered `action` naming each target reached the endpoint (ms since the epoch), by "ip:port" per group. */
function firstCalls(action: string, since: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of world.elb.requestLog.slice(since) as RequestLogEntry[]) {
    if (e.action !== action || e.status !== 200 || e.targetGroupArn === undefined) continue;
    for (const t of e.targets ?? []) {
      const k = `${e.targetGroupArn}|${t.id}:${t.port}`;
      if (!out.has(k)) out.set(k, e.time);
    }
  }
  return out;
}

/** Runs Docker's part of the burst, bounded: resolves with how long it took. */
async function dockerPart(what: string, run: () => Promise<unknown>): Promise<number> {
  const began = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Docker took over ${DOCKER_MAX_MS} ms to ${what}: the machine is too loaded to compare the agent with it`)), DOCKER_MAX_MS);
  });
  try {
    await Promise.race([run(), bound]);
  } finally {
    clearTimeout(timer);
  }
  return Date.now() - began;
}

/** Every container's target has had its call (waited for `timeoutMs` at most): resolves with the time of the last one. */
async function lastCall(action: string, since: number, description: string, timeoutMs: number): Promise<number> {
  const keys = containers.map((c, i) => `${world.groups[groupOf(i)]}|${targetOf(c)}`);
  const times = await waitFor(
    () => {
      const calls = firstCalls(action, since);
      const missing = keys.filter((k) => !calls.has(k));
      return missing.length === 0 ? keys.map((k) => calls.get(k) as number) : undefined;
    },
    { description: `${description}: a ${action} for every one of ${keys.length} targets`, timeoutMs },
  );
  return Math.max(...times);
}

const callsPerGroup = (action: string, since: number) =>
  GROUPS.map((g) => world.elb.requestLog.slice(since).filter((e) => e.action === action && e.status === 200 && e.targetGroupArn === world.groups[g]).length);

/** No request of the run was refused by the account's buckets. */
function expectNothingThrottled(): void {
  const stats = world.elb.throttleStats();
  expect(world.elb.requestLog.filter((e) => e.errorCode === 'Throttling').map((e) => `${e.action} at ${e.time}`)).toEqual([]);
  expect({ change: stats.change.throttled, describe: stats.describe.throttled }).toEqual({ change: 0, describe: 0 });
}

describe('bursts within the account-wide buckets', () => {
  it(
    `${COUNT} containers started together across ${GROUPS.length} groups: every target registered within ${MAX_RATIO}x Docker's time, no call throttled`,
    async () => {
      const mark = world.elb.requestLog.length;
      const startedAt = Date.now();
      const dockerMs = await dockerPart(`start ${COUNT} containers`, async () => {
        containers.push(...(await Promise.all(Array.from({ length: COUNT }, (_, i) => world.startContainer({ family: `burst${i % 3}`, dockerLabels: targetLabels(world.groups[groupOf(i)]!), waitUntilServing: false })))));
      });
      const agentMs = (await lastCall('RegisterTargets', mark, 'burst registered', agentWaitMs(dockerMs))) - startedAt;
      const calls = callsPerGroup('RegisterTargets', mark);
      console.log(`[agent-bursts] start: Docker ${dockerMs} ms, last RegisterTargets ${agentMs} ms (${(agentMs / dockerMs).toFixed(2)}x), RegisterTargets per group ${calls.join(', ')}`);
      for (const g of GROUPS) expect(world.targets(g).filter((t) => t.startsWith(`${HOST_IP}:`))).toHaveLength(containers.filter((_, i) => groupOf(i) === g).length);
      expect(agentMs).toBeLessThanOrEqual(MAX_RATIO * dockerMs);
      expectNothingThrottled();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    `the same ${COUNT} stopped together: every target deregistered within ${MAX_RATIO}x Docker's time, no call throttled`,
    async () => {
      const mark = world.elb.requestLog.length;
      const stoppingAt = Date.now();
      const dockerMs = await dockerPart(`stop ${COUNT} containers`, () => Promise.all(containers.map((c) => c.stop(1))));
      const agentMs = (await lastCall('DeregisterTargets', mark, 'burst deregistered', agentWaitMs(dockerMs))) - stoppingAt;
      const calls = callsPerGroup('DeregisterTargets', mark);
      console.log(`[agent-bursts] stop: Docker ${dockerMs} ms, last DeregisterTargets ${agentMs} ms (${(agentMs / dockerMs).toFixed(2)}x), DeregisterTargets per group ${calls.join(', ')}`);
      expect(agentMs).toBeLessThanOrEqual(MAX_RATIO * dockerMs);
      expectNothingThrottled();
      // Gone for good: nothing registered them again after their calls.
      await waitFor(() => GROUPS.every((g) => world.targets(g).length === 0), { description: 'every burst group empty', timeoutMs: 10_000 });
      expect(agent.find((l) => l.level === 'error')).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
