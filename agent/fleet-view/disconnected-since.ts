/**
 * The fleet commands' memory of disconnections: ECS says whether an instance's agent is
 * connected, not since when, so `fleet status` and `fleet clean` keep the first time they saw
 * each one disconnected (commands/fleet-memory.ts stores it in --state-dir).
 */

/**
 * When each instance was first seen disconnected (ms since the epoch), updated with one look:
 * an instance seen disconnected keeps its first sighting (or gets `now`), a connected or
 * vanished one is forgotten. The grace counts from the first sighting, so it is never shorter
 * than the real disconnection (ECS does not say when an agent went away).
 */
export function updateDisconnectedSince(previous: Readonly<Record<string, number>>, instances: readonly { readonly arn: string; readonly agentConnected: boolean }[], now: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of instances) if (!i.agentConnected) out[i.arn] = previous[i.arn] ?? now;
  return out;
}
