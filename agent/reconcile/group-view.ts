/**
 * What each target group holds, as far as this host knows without asking: the last read,
 * updated by this host's own successful writes. Passes plan against it and send changes
 * directly (RegisterTargets and DeregisterTargets are idempotent: a stale view costs a
 * no-op, never a wrong change). A group never read is assumed to hold what this host
 * recorded registering there, so a restart costs no call when nothing changed.
 */
import type { OwnedTarget } from '../core/state.ts';
import type { ActualTarget, TargetRef } from '../core/target-registry.ts';
import { OUTCOME_UNKNOWN } from './plan.ts';

/** The state given to a target this host recorded but has not seen in a read yet. */
export const UNVERIFIED = 'unverified';

const key = (t: { id: string; port: number }) => `${t.id}|${t.port}`;

/** Per-group views. */
export class GroupViews {
  private readonly views = new Map<string, Map<string, ActualTarget>>();
  private readonly readOnce = new Set<string>();

  /** The group as this host believes it is; seeded from `records` the first time. */
  view(arn: string, records: readonly OwnedTarget[]): ActualTarget[] {
    let v = this.views.get(arn);
    if (!v) {
      v = new Map(records.filter((r) => r.targetGroupArn === arn).map((r) => [key(r), { id: r.id, port: r.port, ...(r.availabilityZone !== undefined ? { availabilityZone: r.availabilityZone } : {}), state: UNVERIFIED }]));
      this.views.set(arn, v);
    }
    return [...v.values()];
  }

  /** Whether the group was read in this process. */
  wasRead(arn: string): boolean {
    return this.readOnce.has(arn);
  }

  /** A read: the group holds exactly these. */
  read(arn: string, targets: readonly ActualTarget[]): void {
    this.views.set(arn, new Map(targets.map((t) => [key(t), t])));
    this.readOnce.add(arn);
  }

  /**
   * This host registered these: new (or draining) ones are `initial` now, as ELBv2 makes them,
   * and so are those whose earlier registration got no answer: this one did, so they are in
   * the group (left `outcome-unknown`, every pass would register them again).
   */
  registered(arn: string, targets: readonly TargetRef[]): void {
    const v = this.views.get(arn) ?? new Map<string, ActualTarget>();
    for (const t of targets) {
      const known = v.get(key(t));
      if (!known || known.state === 'draining' || known.state === OUTCOME_UNKNOWN) v.set(key(t), { ...t, state: 'initial' });
    }
    this.views.set(arn, v);
  }

  /** RegisterTargets of these got no usable answer: they may be in the group (kept as ours until a read says). */
  outcomeUnknown(arn: string, targets: readonly TargetRef[]): void {
    const v = this.views.get(arn) ?? new Map<string, ActualTarget>();
    for (const t of targets) {
      const known = v.get(key(t));
      if (!known || known.state === 'draining') v.set(key(t), { ...t, state: OUTCOME_UNKNOWN });
    }
    this.views.set(arn, v);
  }

  /** This host deregistered these: they drain (and leave the group when the delay ends). */
  deregistered(arn: string, targets: readonly TargetRef[]): void {
    const v = this.views.get(arn);
    if (!v) return;
    for (const t of targets) {
      const known = v.get(key(t));
      if (known) v.set(key(t), { ...known, state: 'draining' });
    }
  }
}
