/**
 * Bursts: many containers started or stopped together on one host. A lone change goes at
 * once; in a burst, a group's changes wait a little so that those coming right behind travel
 * in the same call (one RegisterTargets or DeregisterTargets per group for many targets, as
 * ELBv2 allows 200 per call), and go as soon as nothing more is coming. Pure: the times and
 * the signs of what is coming are given.
 *
 * - Registrations are held in a burst of starts: it begins when containers for the group have
 *   been created and not started yet (Docker's `create` event names their labels: their starts
 *   are coming), and lasts while the host is still creating or starting containers (one is
 *   pending, or two that still run were started less than `startQuietMs` of the burst's age
 *   ago: one start alone, like a lone start right after a burst, goes at once, and containers
 *   started and stopped again are no siblings coming up). The registration that begins the
 *   burst goes at once; those behind it go once the host is quiet. A lone task's start is no
 *   burst, its sibling containers waiting for their dependencies included (unless they name
 *   the same group).
 * - Deregistrations are held when the host is in a burst of stop signals (`burstKills` or more
 *   `kill` events within `burstWindowMs`), the group's last call went out within that window,
 *   and containers are still being stopped (a `kill`, or a `die` without one, less than
 *   `stopQuietMs` of the burst's age ago).
 *   They go once the host is quiet. A lone stop, or a task's few containers stopped together,
 *   is no burst: its deregistration goes at once.
 * Either way a change waits at most `growth` times as long as the burst had lasted when it was
 * planned (at least `minHoldMs`): the calls of a long burst come further apart, so a burst of
 * any length costs a few calls per group, and its last targets follow its last event closely.
 */

export const COALESCE = {
  /** The shortest hold of a change in a burst. */
  minHoldMs: 500,
  /** A change waits at most this many times as long as its burst had lasted. */
  growth: 3,
  /**
   * Deregistrations go once no container was stopped for a tenth of the burst's age, within
   * these bounds (a loaded engine stops a hundred containers over ten seconds, with pauses).
   */
  stopQuietMs: { min: 300, max: 1_500, share: 0.1 },
  /**
   * Registrations go once no container was created or started for a tenth of the burst's age,
   * within these bounds (starts come further apart than stops, the more so the longer the burst).
   */
  startQuietMs: { min: 300, max: 2_500, share: 0.1 },
  /** A deregistration this soon after the group's last DeregisterTargets, with this many kills host-wide this recently, is part of a burst. */
  burstWindowMs: 250,
  burstKills: 3,
} as const;

export interface HoldInput {
  readonly now: number;
  /** When the group's burst began (undefined: no burst, the change goes at once). */
  readonly burstSince: number | undefined;
  /** When the oldest of the waiting changes was first planned. */
  readonly heldSince: number;
  /** More of the same is coming (the host is still starting, or stopping, containers). */
  readonly more: boolean;
  /** When the host will have been quiet long enough, if nothing more happens (undefined: not before the cap). */
  readonly quietAt?: number;
}

/** How long after the last start a burst of starts counts as over (a tenth of its age, bounded). */
export function startQuietMs(burstAgeMs: number): number {
  return quietFor(COALESCE.startQuietMs, burstAgeMs);
}

/** How long after the last stop event a burst of stops counts as over (a tenth of its age, bounded). */
export function stopQuietMs(burstAgeMs: number): number {
  return quietFor(COALESCE.stopQuietMs, burstAgeMs);
}

function quietFor(q: { readonly min: number; readonly max: number; readonly share: number }, burstAgeMs: number): number {
  return Math.min(q.max, Math.max(q.min, Math.round(q.share * burstAgeMs)));
}

/** How long the group's waiting changes are held still (0: send now). */
export function holdMs(i: HoldInput): number {
  if (i.burstSince === undefined || !i.more) return 0;
  const capped = i.heldSince + Math.max(COALESCE.minHoldMs, COALESCE.growth * (i.heldSince - i.burstSince));
  return Math.max(0, Math.min(capped, i.quietAt ?? Infinity) - i.now);
}
