/**
 * Registrations that wait for their siblings: when Docker has created containers for a group
 * that have not started yet (their `create` event named the group), the group's registrations
 * wait for them so that they travel in one call, but never longer than GATHER_STARTS_MAX_MS
 * after the first of them was held. A lone start (no sibling created) goes at once. Nothing
 * ever holds a deregistration: a stopping container's target leaves at once. Pure: the time,
 * the groups with pending starts and when each group's gathering began are given.
 */
import { holdRegistrations, type HeldChange } from './held-change.ts';
import type { GroupPlan } from './plan.ts';

/** The longest a registration waits for siblings created for its group. */
export const GATHER_STARTS_MAX_MS = 1_000;

export interface GatherInput {
  readonly now: number;
  readonly plans: readonly GroupPlan[];
  /** Groups for which Docker created containers that have not started yet. */
  readonly pendingGroups: ReadonlySet<string>;
  /** When each group's registrations were first held (the gatherings under way). */
  readonly since: ReadonlyMap<string, number>;
}

export interface Gathered {
  /** The plans to send now (a group whose changes are all held is left out). */
  readonly plans: GroupPlan[];
  readonly held: HeldChange[];
  /** The gatherings still under way, for the next pass. */
  readonly since: Map<string, number>;
  /** When the first held registration is due (ms from now). */
  readonly waitMs?: number;
}

/** Holds the registrations of groups whose siblings are still to start, at most GATHER_STARTS_MAX_MS. */
export function gatherStarts(input: GatherInput): Gathered {
  const since = new Map<string, number>();
  const plans: GroupPlan[] = [];
  const held: HeldChange[] = [];
  let waitMs: number | undefined;
  for (const p of input.plans) {
    const arn = p.targetGroupArn;
    const began = input.since.get(arn) ?? input.now;
    const until = began + GATHER_STARTS_MAX_MS;
    if (p.register.length === 0 || !input.pendingGroups.has(arn) || until <= input.now) {
      plans.push(p);
      continue;
    }
    since.set(arn, began);
    waitMs = Math.min(waitMs ?? Infinity, until - input.now);
    const gathering = holdRegistrations([p], () => true, 'gathering-starts', until);
    held.push(...gathering.held);
    plans.push(...gathering.plans);
  }
  return { plans, held, since, ...(waitMs !== undefined ? { waitMs } : {}) };
}
