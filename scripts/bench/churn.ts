/**
 * Churn for the growth check: `count` containers started and stopped (`parallel` at a time)
 * in the agent's group, without waiting for each registration; at the end no target of this
 * host may be left in the group (a target left behind is an error, not a figure).
 */
import type { EcsContainer } from '../../test/support/ecs-container.ts';
import { waitFor } from '../../test/support/wait.ts';
import { HOST_IP, type BenchWorld } from './bench-world.ts';

export async function churn(world: BenchWorld, count: number, parallel: number): Promise<{ containers: number; seconds: number; registerCalls: number }> {
  const since = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const c = await world.startContainer(world.groups.agent);
      try {
        await c.stop(1);
      } finally {
        await c.remove();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  await waitFor(() => world.elb.targets(world.groups.agent).every((t) => t.id !== HOST_IP), {
    description: `churn: targets of ${HOST_IP} still registered after every container stopped (${world.elb.targets(world.groups.agent).length} left)`,
    timeoutMs: 60_000,
  });
  // A container stopped before the agent's pass ran may never be registered (its start and stop coalesce): a figure, not an error.
  const registerCalls = world.calls.callsSince('RegisterTargets', since).get(world.groups.agent) ?? 0;
  return { containers: count, seconds: Math.round((Date.now() - since) / 100) / 10, registerCalls };
}

/**
 * Makes `count` more stopped (exited) task containers lie around, as ECS leaves them for
 * ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION (3 h by default): started, then stopped, in the
 * agent's group; returns once the agent has none of them registered.
 */
export async function addStoppedContainers(world: BenchWorld, count: number, parallel = 8): Promise<EcsContainer[]> {
  let next = 0;
  const stopped: EcsContainer[] = [];
  const worker = async () => {
    while (next < count) {
      next++;
      const c = await world.startContainer(world.groups.agent);
      stopped.push(c);
      await c.stop(1);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  await waitFor(() => world.elb.targets(world.groups.agent).every((t) => t.id !== HOST_IP), {
    description: 'stopped containers: the agent still has some registered',
    timeoutMs: 60_000,
  });
  return stopped;
}
