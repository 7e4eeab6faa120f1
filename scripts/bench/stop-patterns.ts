/**
 * The stop patterns real hosts see, timed from Docker's `kill` to the endpoint receiving the
 * DeregisterTargets, agent and probe side by side on the same events:
 *  - lone: one stop at a time (the one-at-a-time rounds' kills, one-at-a-time.ts);
 *  - chain: `chain` containers of one group stopped one after another, each `kill -s TERM`
 *    issued the moment the agent's DeregisterTargets for the previous one reached the endpoint
 *    (ECS stopping a host's tasks one by one in a deployment or a scale-in);
 *  - task: a task's containers (`taskContainers` in one group) stopped together, `taskRounds` times;
 *  - burst: the burst round's 100 stopped together (burst.ts; against Docker's time, no probe).
 * Each pattern also counts the agent's DeregisterTargets, the endpoint's `Throttling` answers,
 * and how many of the agent's change calls the account's default buckets
 * (fleet/api-budget.ts: 4/s, burst 20) would have refused, replayed on their arrival times.
 */
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';
import type { EcsContainer } from '../../test/support/ecs-container.ts';
import type { BenchWorld } from './bench-world.ts';
import { HOST_IP } from './bench-world.ts';
import { emptySamples, type LoneChangeSamples } from './one-at-a-time.ts';
import { refusedByBucket, summary, type Summary } from './stats.ts';

/** One pattern's figures. */
export interface StopPatternFigures {
  readonly agent: Summary;
  readonly probe: Summary;
  /** The agent's successful DeregisterTargets in the pattern. */
  readonly calls: number;
  /** Requests the endpoint answered `Throttling` in the pattern (it throttles nothing in the bench: 0 unless that changes). */
  readonly throttled: number;
  /** The agent's change calls the account's default buckets would have refused (replayed on their arrival times). */
  readonly overDefaultBuckets: number;
}

/** The agent's change calls and the endpoint's throttles between `since` and now. */
export function callFigures(world: BenchWorld, since: number, groups: readonly string[]): { calls: number; throttled: number; overDefaultBuckets: number } {
  const entries = world.elb.requestLog.filter((e) => e.time >= since);
  const ours = entries.filter((e) => e.targetGroupArn !== undefined && groups.includes(e.targetGroupArn) && (e.action === 'RegisterTargets' || e.action === 'DeregisterTargets'));
  const change = DEFAULT_ELB_API_LIMITS.change;
  return {
    calls: ours.filter((e) => e.action === 'DeregisterTargets' && e.status === 200).length,
    throttled: entries.filter((e) => e.errorCode === 'Throttling').length,
    overDefaultBuckets: refusedByBucket(ours.map((e) => e.time), change.perSecond, change.burst),
  };
}

export function patternFigures(samples: LoneChangeSamples, calls: ReturnType<typeof callFigures>): StopPatternFigures {
  return { agent: summary(samples.agentKill), probe: summary(samples.probeKill), ...calls };
}

/** Starts `count` containers of the agent's group (the probe's too) and waits until both registered each. */
async function startRegistered(world: BenchWorld, count: number): Promise<EcsContainer[]> {
  const { agent, probe } = world.groups;
  const since = Date.now();
  const cs = await Promise.all(Array.from({ length: count }, () => world.startContainer(agent, true)));
  await Promise.all(cs.flatMap((c) => [world.waitForCall('RegisterTargets', agent, c, since, 60_000), world.waitForCall('RegisterTargets', probe, c, since, 60_000)]));
  return cs;
}

/** Sends the stop signal ECS sends first (`docker kill -s TERM`, what `docker stop` starts with). */
const killTerm = (world: BenchWorld, c: EcsContainer) => world.docker.getContainer(c.id).kill({ signal: 'SIGTERM' });

/** Resolves when the endpoint answers the next successful DeregisterTargets naming `port` in `group`. */
function nextDeregistration(world: BenchWorld, group: string, port: number): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    world.elb.onRequest((e) => {
      if (done || e.action !== 'DeregisterTargets' || e.status !== 200 || e.targetGroupArn !== group) return;
      if (!(e.targets ?? []).some((t) => t.id === HOST_IP && t.port === port)) return;
      done = true;
      resolve();
    });
  });
}

/** Kill -> DeregisterTargets of each container, agent and probe, from Docker's kill time. */
async function killSamples(world: BenchWorld, cs: readonly EcsContainer[], since: number, into: LoneChangeSamples): Promise<void> {
  const { agent, probe } = world.groups;
  for (const c of cs) {
    const at = await world.dockerTime('kill', c.id);
    const [a, p] = await Promise.all([world.waitForCall('DeregisterTargets', agent, c, since), world.waitForCall('DeregisterTargets', probe, c, since)]);
    into.agentKill.push(a - at);
    into.probeKill.push(p - at);
  }
}

/** The chain: each kill the moment the agent's call for the one before went out. */
export async function chainOfStops(world: BenchWorld, length: number): Promise<StopPatternFigures> {
  const cs = await startRegistered(world, length);
  const samples = emptySamples();
  try {
    const since = Date.now();
    for (const c of cs) {
      const out = nextDeregistration(world, world.groups.agent, c.hostPort());
      await killTerm(world, c);
      await out;
    }
    await killSamples(world, cs, since, samples);
    return patternFigures(samples, callFigures(world, since, [world.groups.agent]));
  } finally {
    await Promise.all(cs.map((c) => c.remove().catch(() => undefined)));
  }
}

/** A task's containers stopped together, `rounds` times. */
export async function taskStops(world: BenchWorld, containers: number, rounds: number): Promise<StopPatternFigures> {
  const samples = emptySamples();
  const since = Date.now();
  for (let r = 0; r < rounds; r++) {
    const cs = await startRegistered(world, containers);
    try {
      const killedAt = Date.now();
      await Promise.all(cs.map((c) => killTerm(world, c)));
      await killSamples(world, cs, killedAt, samples);
    } finally {
      await Promise.all(cs.map((c) => c.remove().catch(() => undefined)));
    }
  }
  return patternFigures(samples, callFigures(world, since, [world.groups.agent]));
}
