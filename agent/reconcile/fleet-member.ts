/**
 * How one agent process is put together as a member of a fleet: one pace per process, every
 * call through the paced registry, reads never more often than the reconcile interval, a group
 * that refuses this host left alone until the next periodic run, transient failures backed off
 * from 1 s up to the retry cap. The composition root (main.ts) and the fleet simulation build
 * their reconcilers here, so both run the same rules.
 */
import type { ApiClass, ApiLimits } from '../fleet/api-budget.ts';
import { ApiPace } from '../fleet/api-pace.ts';
import { PacedRegistry } from '../fleet/paced-registry.ts';
import type { TargetRegistry } from '../core/target-registry.ts';
import { Reconciler, type ReconcilerOptions } from './reconciler.ts';
import { DEFAULT_RETRY } from '../core/backoff.ts';


/** The figures that size a member's calls. */
export interface MemberSettings {
  readonly fleetSize: number;
  readonly limits: ApiLimits;
  readonly reconcileIntervalMs: number;
  readonly retryMaxDelayMs: number;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly onThrottled?: (cls: ApiClass) => void;
}

/** What the member reads from and writes to, and what it is told to do, apart from the pacing. */
export type MemberParts = Omit<ReconcilerOptions, 'registry' | 'pace' | 'fleet' | 'retry' | 'permanentRetryMs' | 'now' | 'random'> & {
  /** The registry before pacing (the ELB adapter, or a dry-run or simulated one). */
  readonly registry: TargetRegistry;
};

/** Builds the pace, the paced registry and the reconciler of one agent process. */
export function fleetMember(settings: MemberSettings, parts: MemberParts): { reconciler: Reconciler; registry: PacedRegistry; pace: ApiPace } {
  const clock = { ...(settings.now ? { now: settings.now } : {}), ...(settings.random ? { random: settings.random } : {}) };
  const pace = new ApiPace({ limits: settings.limits, fleetSize: settings.fleetSize, ...clock });
  const registry = new PacedRegistry(parts.registry, pace, settings.onThrottled);
  const reconciler = new Reconciler({
    ...parts,
    registry,
    pace,
    fleet: { fleetSize: settings.fleetSize, limits: settings.limits, minReadIntervalMs: settings.reconcileIntervalMs },
    permanentRetryMs: settings.reconcileIntervalMs,
    retry: { baseMs: DEFAULT_RETRY.baseMs, capMs: settings.retryMaxDelayMs },
    ...clock,
  });
  return { reconciler, registry, pace };
}
