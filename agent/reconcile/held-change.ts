/**
 * A change a policy keeps back for now, and why: the plan's output says so, so that `status`
 * and the debug log can show which change waits, for what, and until when.
 */
import type { TargetRef } from '../core/target-registry.ts';
import type { GroupPlan } from './plan.ts';
import { withoutHeld } from './policy.ts';

export type HoldReason =
  /** Siblings created for the group are still to start (start-gathering.ts). */
  | 'gathering-starts'
  /** This host's moment in the fleet's change window has not come (a moved or gated target). */
  | 'fleet-wave'
  /** The API refused this target for a reason of its own; not sent again before the next periodic run. */
  | 'refused'
  /** Make-before-break: an old address's target stays until its replacement is in. */
  | 'make-before-break';

export interface HeldChange {
  readonly targetGroupArn: string;
  readonly change: 'register' | 'deregister';
  readonly target: TargetRef;
  readonly why: HoldReason;
  /** When it is sent at the latest (ms since the epoch); undefined: once what holds it changes. */
  readonly until?: number;
}

/** What a policy sends and holds. */
export interface Policed {
  readonly plans: GroupPlan[];
  readonly held: HeldChange[];
  /** When the first held change is due (ms from now); undefined: none is held by time. */
  readonly waitMs?: number;
}

/**
 * Holds the registrations `which` picks, and with them the old-address deregistrations of the same
 * ports (make-before-break); groups left with nothing to send are dropped.
 */
export function holdRegistrations(plans: readonly GroupPlan[], which: (arn: string, r: GroupPlan['register'][number]) => boolean, why: HoldReason, until?: number): Policed {
  const held: HeldChange[] = [];
  const out: GroupPlan[] = [];
  const at = until !== undefined ? { until } : {};
  for (const p of plans) {
    const arn = p.targetGroupArn;
    const picked = p.register.filter((r) => which(arn, r));
    if (picked.length === 0) {
      out.push(p);
      continue;
    }
    const keys = new Set(picked.map((r) => `${r.target.id}|${r.target.port}`));
    const rest = withoutHeld(p, (t: TargetRef) => keys.has(`${t.id}|${t.port}`));
    for (const r of picked) held.push({ targetGroupArn: arn, change: 'register', target: r.target, why, ...at });
    for (const d of p.deregister) if (!rest.deregister.includes(d)) held.push({ targetGroupArn: arn, change: 'deregister', target: d.target, why: 'make-before-break' });
    if (rest.register.length > 0 || rest.deregister.length > 0) out.push(rest);
  }
  return { plans: out, held };
}
