/**
 * What this host owns, as recorded in its state: pure helpers that build the records,
 * recompute them after a pass, and forget earlier addresses once nothing is left on them.
 */
import type { DesiredEndpoint } from '../mapping/desired.ts';
import { sortedByKey, type AgentState, type OwnedTarget } from '../core/state.ts';
import { isOwned } from './plan.ts';
import { targetKey, type ActualTarget, type TargetRef } from '../core/target-registry.ts';

/** What one group's changes came to in a pass. */
export interface AppliedChanges {
  readonly added: readonly OwnedTarget[];
  readonly removed: ReadonlySet<string>;
}

/** The targets a state records, as plan keys. */
export function recordedKeys(state: AgentState): Set<string> {
  return new Set(state.targets.map((t) => targetKey(t.targetGroupArn, t.id, t.port)));
}

/** The state record of a target registered for a container. */
export function ownedRecord(arn: string, target: TargetRef, endpoint: DesiredEndpoint): OwnedTarget {
  return {
    targetGroupArn: arn,
    id: target.id,
    port: target.port,
    ...(target.availabilityZone !== undefined ? { availabilityZone: target.availabilityZone } : {}),
    containerId: endpoint.containerId,
    containerName: endpoint.containerName,
    ...(endpoint.taskArn !== undefined ? { taskArn: endpoint.taskArn } : {}),
  };
}

/**
 * This host's targets after a pass: in each group read, the live targets on the current
 * address and the ones already recorded, less what was deregistered, plus what was
 * registered; groups not read keep their records.
 */
export function ownedAfter(
  previous: readonly OwnedTarget[],
  actual: ReadonlyMap<string, readonly ActualTarget[]>,
  applied: ReadonlyMap<string, AppliedChanges>,
  currentAddresses: ReadonlySet<string>,
  endpoints: readonly DesiredEndpoint[],
): OwnedTarget[] {
  const known = new Map(previous.map((t) => [targetKey(t.targetGroupArn, t.id, t.port), t]));
  const out = new Map<string, OwnedTarget>();
  for (const t of previous) if (!actual.has(t.targetGroupArn)) out.set(targetKey(t.targetGroupArn, t.id, t.port), t);
  for (const [arn, targets] of actual) {
    const change = applied.get(arn);
    for (const t of targets) {
      const k = targetKey(arn, t.id, t.port);
      if (t.state === 'draining' || !isOwned(currentAddresses, known, arn, t) || change?.removed.has(k)) continue;
      const endpoint = endpoints.find((e) => e.targetGroupArn === arn && e.port === t.port);
      out.set(k, known.get(k) ?? (endpoint ? ownedRecord(arn, t, endpoint) : { targetGroupArn: arn, id: t.id, port: t.port }));
    }
    for (const t of change?.added ?? []) out.set(targetKey(arn, t.id, t.port), t);
  }
  return sortedByKey(out.values());
}

/**
 * The addresses to keep recording: the current one, and earlier ones this host still has
 * targets recorded on (a record leaves only when its target was deregistered or a read
 * showed it gone, so an address is forgotten only once nothing of this host is left on it).
 */
export function keptAddresses(recorded: readonly string[], address: string | undefined, targets: readonly OwnedTarget[]): string[] {
  const all = [...new Set([...recorded, ...(address !== undefined ? [address] : [])])];
  return all.filter((a) => a === address || targets.some((t) => t.id === a));
}

/**
 * Of the records read back from a damaged state file, those this host can still prove are
 * its own: the ones on its current address (everything there is). A record on another
 * address may be garbage, or that address may be another host's by now.
 */
export function provableRecords(salvaged: readonly OwnedTarget[], address: string | undefined): OwnedTarget[] {
  return address === undefined ? [] : salvaged.filter((t) => t.id === address);
}
