/**
 * What `fleet clean` deregisters, pure: the report's stale targets, in the allowed groups only,
 * grouped per target group in calls of at most MAX_TARGETS_PER_CALL, each with its reason.
 * The report never calls a target on a connected instance's address stale; this is the last
 * place that could, so it checks again.
 */
import { MAX_TARGETS_PER_CALL, type TargetRef } from '../core/target-registry.ts';
import type { FleetReport } from './fleet-facts.ts';

/** One DeregisterTargets call of the clean. */
export interface CleanCall {
  readonly targetGroupArn: string;
  readonly targets: readonly (TargetRef & { readonly why: string })[];
}

/** The calls that deregister the report's stale targets in `allowed` groups. */
export function cleanPlan(report: FleetReport, allowed: readonly string[]): CleanCall[] {
  const allow = new Set(allowed);
  const held = new Set(report.instances.filter((i) => i.agentConnected && i.status !== 'INACTIVE' && i.address !== undefined).map((i) => i.address as string));
  const byGroup = new Map<string, (TargetRef & { why: string })[]>();
  for (const t of report.stale) {
    if (!allow.has(t.targetGroupArn) || held.has(t.id) || t.verdict !== 'stale') continue;
    // Deregistered as registered: a target outside the VPC carries AvailabilityZone=all.
    byGroup.set(t.targetGroupArn, [...(byGroup.get(t.targetGroupArn) ?? []), { id: t.id, port: t.port, ...(t.availabilityZone ? { availabilityZone: t.availabilityZone } : {}), why: t.why ?? 'stale' }]);
  }
  const calls: CleanCall[] = [];
  for (const [targetGroupArn, targets] of byGroup) {
    for (let i = 0; i < targets.length; i += MAX_TARGETS_PER_CALL) calls.push({ targetGroupArn, targets: targets.slice(i, i + MAX_TARGETS_PER_CALL) });
  }
  return calls;
}
