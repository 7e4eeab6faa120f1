/**
 * Bursts: `count` containers across the burst groups started together, then stopped together.
 * The agent's time to the last Register/DeregisterTargets is compared with Docker's own time
 * to start (last `start` event) or stop (last `die` event) them, both from the moment the
 * bench asked; and the calls each group took.
 */
import type { EcsContainer } from '../../test/support/ecs-container.ts';
import type { BenchWorld } from './bench-world.ts';
import type { ChangeAction } from './call-index.ts';
import { ratio } from './stats.ts';
import { callFigures } from './stop-patterns.ts';

export interface BurstFigures {
  readonly containers: number;
  readonly groups: number;
  /** ms from the request to the last container's event (Docker) and to its call (agent). */
  readonly dockerMs: number;
  readonly agentMs: number;
  /** agentMs / dockerMs: the goal is at most 1.2. */
  readonly ratio: number;
  /** Change calls per group. */
  readonly callsPerGroup: readonly number[];
  /** Requests the endpoint answered `Throttling` meanwhile. */
  readonly throttled: number;
  /** The agent's change calls the account's default buckets (4/s, burst 20) would have refused: the goal is none. */
  readonly overDefaultBuckets: number;
}

async function measure(world: BenchWorld, containers: readonly EcsContainer[], groupOf: (i: number) => string, since: number, dockerAction: string, action: ChangeAction): Promise<BurstFigures> {
  const dockerTimes = await Promise.all(containers.map((c) => world.dockerTime(dockerAction, c.id)));
  const agentTimes = await Promise.all(containers.map((c, i) => world.waitForCall(action, groupOf(i), c, since, 60_000)));
  const dockerMs = Math.round(Math.max(...dockerTimes) - since);
  const agentMs = Math.round(Math.max(...agentTimes) - since);
  const counts = world.calls.callsSince(action, since);
  const { throttled, overDefaultBuckets } = callFigures(world, since, world.groups.burst);
  return { containers: containers.length, groups: world.groups.burst.length, dockerMs, agentMs, ratio: ratio(agentMs, dockerMs), callsPerGroup: world.groups.burst.map((g) => counts.get(g) ?? 0), throttled, overDefaultBuckets };
}

/** Starts the burst; `whileUp` runs with every container registered, before they are stopped together. */
export async function burst(world: BenchWorld, count: number, whileUp: (containers: readonly EcsContainer[]) => Promise<void>): Promise<{ start: BurstFigures; stop: BurstFigures }> {
  const groups = world.groups.burst;
  const groupOf = (i: number) => groups[i % groups.length] as string;
  const started = Date.now();
  const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => world.startContainer(groupOf(i))));
  const containers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw new Error(`burst: Docker could not start a container: ${String((failed as PromiseRejectedResult).reason)}`);
    const start = await measure(world, containers, groupOf, started, 'start', 'RegisterTargets');
    await whileUp(containers);
    const stopping = Date.now();
    await Promise.all(containers.map((c) => c.stop(1)));
    const stop = await measure(world, containers, groupOf, stopping, 'die', 'DeregisterTargets');
    return { start, stop };
  } finally {
    await Promise.all(containers.map((c) => c.remove().catch(() => undefined)));
  }
}
