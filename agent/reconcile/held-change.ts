/**
 * A change a policy keeps back for now, and why: the plan's output says so, so that `status`
 * and the debug log can show which change waits, for what, and until when.
 */
import type { TargetRef } from '../core/target-registry.ts';

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
