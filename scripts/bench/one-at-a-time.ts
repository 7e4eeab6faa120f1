/**
 * Lone changes: containers started one at a time, then killed one at a time, in rounds of
 * `running`; each start and each kill timed from Docker's event to the Register/DeregisterTargets
 * that the agent and the probe sent for it. Both react to the same events, side by side.
 * A kill comes at least LONE_GAP_MS after the previous one, so that each is alone on the host
 * (kills that follow each other closely are the stop patterns' figures, stop-patterns.ts).
 */
import type { EcsContainer } from '../../test/support/ecs-container.ts';
import { sleep } from '../../test/support/wait.ts';
import type { BenchWorld } from './bench-world.ts';

/** Milliseconds from Docker's event to the endpoint receiving the call, per container. */
/** The least time between two lone kills. */
export const LONE_GAP_MS = 300;

export interface LoneChangeSamples {
  readonly agentStart: number[];
  readonly probeStart: number[];
  readonly agentKill: number[];
  readonly probeKill: number[];
}

export function emptySamples(): LoneChangeSamples {
  return { agentStart: [], probeStart: [], agentKill: [], probeKill: [] };
}

/**
 * Runs rounds until `events` starts and kills were timed. `whileRunning` is called once, in
 * the first round, with `running` containers up (the idle RSS and CPU are read there).
 */
export async function loneChanges(world: BenchWorld, events: number, running: number, whileRunning?: () => Promise<void>): Promise<LoneChangeSamples> {
  const samples = emptySamples();
  const { agent, probe } = world.groups;
  let first = true;
  let lastKill = 0;
  while (samples.agentStart.length < events) {
    const round: EcsContainer[] = [];
    try {
      for (let i = 0; i < Math.min(running, events - samples.agentStart.length); i++) {
        const c = await world.startContainer(agent, true);
        round.push(c);
        const at = await world.dockerTime('start', c.id);
        const [a, p] = await Promise.all([world.waitForCall('RegisterTargets', agent, c, at), world.waitForCall('RegisterTargets', probe, c, at)]);
        samples.agentStart.push(a - at);
        samples.probeStart.push(p - at);
      }
      if (first && whileRunning) await whileRunning();
      first = false;
      for (const c of round) {
        await sleep(lastKill + LONE_GAP_MS - Date.now());
        lastKill = Date.now();
        await c.stop(1);
        const at = await world.dockerTime('kill', c.id);
        const [a, p] = await Promise.all([world.waitForCall('DeregisterTargets', agent, c, at), world.waitForCall('DeregisterTargets', probe, c, at)]);
        samples.agentKill.push(a - at);
        samples.probeKill.push(p - at);
        await c.remove();
      }
    } finally {
      await Promise.all(round.map((c) => c.remove().catch(() => undefined)));
    }
  }
  return samples;
}
