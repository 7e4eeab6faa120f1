/**
 * One listener's view of its target group's membership, running `propagationDelayMs` behind
 * the API: a RegisterTargets or DeregisterTargets call reaches the routing only after the delay
 * (ALB nodes take seconds to learn of a change; the field notes cite ~10 s of propagation for
 * the AWS Load Balancer Controller). Health is not delayed: each ALB node runs its own health
 * checks, so the view reads the model's live state for the life it knows.
 *
 * A deregistered target turns `draining` here when the change arrives; its in-flight requests
 * may run until the deregistration delay ends ("uses connection draining to ensure that
 * in-flight traffic completes on the existing connections", DeregisterTargets API reference),
 * counted from the API call but never before the change reached this view. Then it leaves the
 * view and the listener cuts what is still in flight.
 *
 * Pure: time comes in as arguments; the listener drives it and owns the timers.
 */
import type { MemberView, MembershipChange } from './elbv2-model.ts';
import type { TargetState } from './health-state.ts';
import type { RoutableTarget } from './routing.ts';

/** A target in the view. */
export interface RouteEntry {
  readonly key: string;
  readonly id: string;
  readonly port: number;
  /** The model life this entry reflects (see Elbv2Model generations). */
  readonly generation: number;
  readonly phase: 'serving' | 'draining';
  /** For draining entries: when in-flight requests are cut and the entry leaves. */
  readonly drainDeadline?: number;
}

/** What the view needs to know of the model now: a target's current life and state. */
export type LiveTarget = (key: string) => { readonly generation: number; readonly state: TargetState } | undefined;

/** The delayed membership view of one listener. */
export class RoutingTable {
  private readonly entries = new Map<string, RouteEntry>();
  // Ordered by arrival; applyAt = change.at + a constant delay, so also by applyAt.
  private readonly pending: Array<{ readonly applyAt: number; readonly change: MembershipChange }> = [];
  /** Health a serving life had when the model ended it, keyed `key#generation`, for views that have not heard yet. */
  private readonly finalStates = new Map<string, TargetState>();

  constructor(private readonly propagationDelayMs: number) {
    if (!Number.isFinite(propagationDelayMs) || propagationDelayMs < 0) throw new Error(`propagationDelayMs must be >= 0, not ${propagationDelayMs}`);
  }

  /** Starts from what the group holds now, as already propagated (targets registered before the listener existed). */
  seed(members: readonly MemberView[]): void {
    for (const member of members) {
      this.entries.set(member.key, {
        key: member.key,
        id: member.id,
        port: member.port,
        generation: member.generation,
        ...(member.drainingUntil !== undefined ? { phase: 'draining', drainDeadline: member.drainingUntil } : { phase: 'serving' }),
      });
    }
  }

  /** Takes a change the moment the model makes it; it applies at `change.at + propagationDelayMs`. */
  receive(change: MembershipChange): void {
    if (change.kind === 'deregistered') this.finalStates.set(lifeKey(change.key, change.generation - 1), change.stateBefore);
    this.pending.push({ applyAt: change.at + this.propagationDelayMs, change });
  }

  /** Applies the changes due by `now` and ends the drains whose deadline passed; returns the keys whose drain ended. */
  advance(now: number): string[] {
    while (this.pending.length > 0 && (this.pending[0]?.applyAt ?? Infinity) <= now) {
      const next = this.pending.shift();
      if (next) this.apply(next.change, next.applyAt);
    }
    const ended: string[] = [];
    for (const [key, entry] of this.entries) {
      if (entry.phase === 'draining' && (entry.drainDeadline ?? 0) <= now) {
        this.entries.delete(key);
        ended.push(key);
      }
    }
    return ended;
  }

  /** The next time `advance` has something to do, if any. */
  nextDueAt(): number | undefined {
    let next = this.pending[0]?.applyAt;
    for (const entry of this.entries.values()) {
      if (entry.drainDeadline !== undefined && (next === undefined || entry.drainDeadline < next)) next = entry.drainDeadline;
    }
    return next;
  }

  /** Every target in the view with the health the router should judge it by. Call `advance` first. */
  view(live: LiveTarget): RoutableTarget[] {
    return [...this.entries.values()].map((entry) => {
      let state: TargetState = 'draining';
      if (entry.phase === 'serving') {
        const current = live(entry.key);
        // The model moved on (deregistered, maybe re-registered) before this view heard: keep the health that life ended with.
        state = current && current.generation === entry.generation ? current.state : (this.finalStates.get(lifeKey(entry.key, entry.generation)) ?? 'unavailable');
      }
      return { key: entry.key, id: entry.id, port: entry.port, phase: entry.phase, state };
    });
  }

  /** The entries as they are (for stats and tests). */
  list(): RouteEntry[] {
    return [...this.entries.values()];
  }

  private apply(change: MembershipChange, appliedAt: number): void {
    if (change.kind === 'registered') {
      this.entries.set(change.key, { key: change.key, id: change.id, port: change.port, generation: change.generation, phase: 'serving' });
      for (const life of this.finalStates.keys()) {
        if (life.startsWith(`${change.key}#`) && Number(life.slice(change.key.length + 1)) < change.generation) this.finalStates.delete(life);
      }
      return;
    }
    this.finalStates.delete(lifeKey(change.key, change.generation - 1));
    const entry = this.entries.get(change.key);
    if (!entry) return;
    this.entries.set(change.key, {
      ...entry,
      generation: change.generation,
      phase: 'draining',
      drainDeadline: Math.max(change.drainingUntil, appliedAt),
    });
  }
}

function lifeKey(key: string, generation: number): string {
  return `${key}#${generation}`;
}
