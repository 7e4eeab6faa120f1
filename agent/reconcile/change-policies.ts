/**
 * The policies between the plan and the target writer, as one pure pipeline: each takes the
 * plans and gives back those to send now and the changes it holds, each saying which change,
 * why and until when (held-change.ts). In order: targets the API refused for a reason of their
 * own, a fleet-wide wave (moves under pressure, gated registrations) spread over the fleet's
 * window, registrations gathering siblings that are about to start (start-gathering.ts).
 * Make-before-break holds an old address's target until its replacement is in, wherever a
 * registration is held. The clock and the dice are given.
 */
import type { TargetRef } from '../core/target-registry.ts';
import { fleetChangeWindowMs, type ApiLimits } from '../fleet/api-budget.ts';
import { holdRegistrations, type Policed } from './held-change.ts';
import type { GroupPlan } from './plan.ts';
import { spreads } from './policy.ts';
import { gatherStarts } from './start-gathering.ts';

export interface WaveInput {
  readonly now: number;
  readonly plans: readonly GroupPlan[];
  /** This host's change pace was throttled and has not recovered: moves spread too. */
  readonly pressed: boolean;
  /** This host's moment in the fleet's window, once drawn (undefined: none pending). */
  readonly at: number | undefined;
  /** Draws this host's moment: a number in [0, 1). Called only when a wave begins. */
  readonly draw: () => number;
  readonly fleetSize: number;
  readonly limits: ApiLimits;
}

export interface Wave extends Policed {
  /** This host's moment for the next pass (undefined: no wave). */
  readonly at: number | undefined;
  /** Set when the wave began in this pass: how many targets wait, for how long, in which window. */
  readonly scheduled?: { readonly targets: number; readonly inMs: number; readonly windowMs: number };
}

/**
 * Changes that are most likely fleet-wide and that nothing waits for at once (`spreads`: gated
 * registrations, moves to a new address under pressure) wait for this host's moment in the
 * window the account needs for every host's share of such calls. Others go at once.
 */
export function spreadWave(i: WaveInput): Wave {
  const spread = (r: GroupPlan['register'][number]) => spreads(r, i.pressed);
  const waving = i.plans.filter((p) => p.register.some(spread));
  if (waving.length === 0) return { plans: [...i.plans], held: [], at: undefined };
  let scheduled: Wave['scheduled'];
  let at = i.at;
  if (at === undefined) {
    const windowMs = fleetChangeWindowMs(i.fleetSize, 2 * waving.length, i.limits);
    at = i.now + Math.floor(i.draw() * windowMs);
    scheduled = { targets: waving.reduce((sum, p) => sum + p.register.filter(spread).length, 0), inMs: at - i.now, windowMs };
  }
  const waitMs = at - i.now;
  if (waitMs <= 0) return { plans: [...i.plans], held: [], at, ...(scheduled ? { scheduled } : {}) };
  // A spread registration's port is held whole: its old-address target stays, and so does any other registration of it.
  const ports = new Map(i.plans.map((p) => [p.targetGroupArn, new Set(p.register.filter(spread).map((r) => r.target.port))]));
  const held = holdRegistrations(i.plans, (arn, r) => ports.get(arn)?.has(r.target.port) === true, 'fleet-wave', at);
  return { ...held, waitMs, at, ...(scheduled ? { scheduled } : {}) };
}

export interface PolicyInput {
  readonly now: number;
  readonly plans: readonly GroupPlan[];
  /** Targets the API refused for a reason of their own, until the next periodic run. */
  readonly isRefused: (arn: string, target: TargetRef) => boolean;
  readonly wave: Omit<WaveInput, 'now' | 'plans'>;
  /** Groups with siblings created and not started yet, and the gatherings under way. */
  readonly pendingGroups: ReadonlySet<string>;
  readonly gathering: ReadonlyMap<string, number>;
}

export interface PolicyOutput extends Policed {
  readonly waveAt: number | undefined;
  readonly waveScheduled?: Wave['scheduled'];
  readonly gathering: Map<string, number>;
}

/** The whole pipeline: refused, fleet wave, start gathering. */
export function applyPolicies(i: PolicyInput): PolicyOutput {
  const refused = holdRegistrations(i.plans, (arn, r) => i.isRefused(arn, r.target), 'refused');
  const wave = spreadWave({ ...i.wave, now: i.now, plans: refused.plans });
  const gathered = gatherStarts({ now: i.now, plans: wave.plans, pendingGroups: i.pendingGroups, since: i.gathering });
  const waits = [wave.waitMs, gathered.waitMs].filter((w): w is number => w !== undefined);
  return {
    plans: gathered.plans,
    held: [...refused.held, ...wave.held, ...gathered.held],
    ...(waits.length > 0 ? { waitMs: Math.min(...waits) } : {}),
    waveAt: wave.at,
    ...(wave.scheduled ? { waveScheduled: wave.scheduled } : {}),
    gathering: gathered.since,
  };
}
