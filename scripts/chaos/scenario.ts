/**
 * What the chaos soak does next, decided from a seeded random stream and the harness's own
 * roster of containers: pure, so a seed replays the same choices (given the same outcomes).
 * A run is a series of cycles: one fault (or none) held for a while with container churn
 * under it, then the fault is lifted and the soak waits for the groups to converge.
 */
import { uniform } from '../fleet-sim/random.ts';

/** Container churn and the second host's moves: things that happen on a normal day too. */
export type ChurnKind =
  | 'start'
  | 'stop'
  | 'kill'
  | 'crash'
  | 'restart'
  | 'health-flap'
  | 'remove'
  | 'foreign-register'
  | 'foreign-deregister';

/** Faults: held for a cycle's hold time, then lifted. */
export const FAULT_KINDS = [
  'throttle-storm',
  '5xx-burst',
  'latency-spike',
  'dropped-connections',
  'docker-restart',
  'agent-sigkill',
  'agent-sigterm-keep',
  'address-change',
  'credentials-rotation',
  'state-corruption',
  'state-disk-full',
  'mapping-garbage',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * How a container asks to join (or fails to): one group by label, two by the targets label,
 * one through the mapping file; a HEALTHCHECK, a readiness gate; or bad input that must
 * register nothing (a malformed label, a group that does not exist, one not allowed).
 */
export const CONTAINER_KINDS = ['plain', 'health', 'gated', 'multi', 'mapped', 'malformed', 'unknown-group', 'disallowed'] as const;
export type ContainerKind = (typeof CONTAINER_KINDS)[number];

/** Kinds whose containers must never get a target. */
export const BAD_INPUT_KINDS: ReadonlySet<ContainerKind> = new Set(['malformed', 'unknown-group', 'disallowed']);

/** Docker restart policies the churn gives its containers. */
export type RestartPolicy = 'no' | 'on-failure' | 'always';

/** The groups the soak's agent may join (names of target groups created at start). */
export const ALLOWED_GROUPS = ['chaos-a', 'chaos-b', 'chaos-c'] as const;
/** The group the mapping file sends `mapped` containers to. */
export const MAPPED_GROUP = 'chaos-c';

/** What the harness knows of one of its containers. */
export interface RosterEntry {
  readonly name: string;
  readonly kind: ContainerKind;
  /** Allowed groups it should be a target of while serving (empty for bad input). */
  readonly groups: readonly string[];
  readonly healthcheck: boolean;
  readonly restartPolicy: RestartPolicy;
  /** Last known: running (true) or exited/created (false). */
  readonly up: boolean;
}

/** One churn action, naming the container (by roster name) it acts on. */
export type ChurnAction =
  | { readonly kind: 'start'; readonly container: NewContainer }
  | { readonly kind: 'stop' | 'kill' | 'crash' | 'restart' | 'remove'; readonly name: string }
  | { readonly kind: 'health-flap'; readonly name: string; readonly healthy: boolean }
  | { readonly kind: 'foreign-register'; readonly group: string; readonly port: number }
  | { readonly kind: 'foreign-deregister'; readonly group: string; readonly port: number };

/** A container to start. */
export interface NewContainer {
  readonly kind: ContainerKind;
  readonly groups: readonly string[];
  readonly healthcheck: boolean;
  readonly restartPolicy: RestartPolicy;
  /** Seconds it keeps serving after SIGTERM (0 or a fraction: exercises drain at stop). */
  readonly stopGraceSec: number;
}

/** Bounds of the roster: churn starts containers below `min`, removes above `max`. */
export interface RosterLimits {
  readonly min: number;
  readonly max: number;
}

export const DEFAULT_ROSTER_LIMITS: RosterLimits = { min: 6, max: 14 };

/** A fault to hold and for how long, and how many churn actions happen under it. */
export interface CyclePlan {
  readonly fault: FaultKind | 'none';
  readonly holdMs: number;
  readonly churn: number;
}

/** Picks an item with probability proportional to its weight; weights <= 0 are never picked. */
export function weighted<T>(random: () => number, items: ReadonlyArray<readonly [T, number]>): T {
  const live = items.filter(([, w]) => w > 0);
  const total = live.reduce((sum, [, w]) => sum + w, 0);
  if (live.length === 0) throw new Error('weighted: nothing to pick (every weight is 0)');
  let x = random() * total;
  for (const [item, w] of live) {
    x -= w;
    if (x < 0) return item;
  }
  return (live[live.length - 1] as readonly [T, number])[0];
}

function pick<T>(random: () => number, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick: empty list');
  return items[Math.floor(random() * items.length)] as T;
}

/** The next cycle: a fault from those available (one in six cycles has none), its hold and churn. */
export function planCycle(random: () => number, available: readonly FaultKind[]): CyclePlan {
  const fault = available.length === 0 || random() < 1 / 6 ? 'none' : pick(random, available);
  return { fault, holdMs: Math.round(uniform(random, 2_000, 6_000)), churn: 1 + Math.floor(random() * 3) };
}

/** A new container of a random kind. */
export function newContainer(random: () => number): NewContainer {
  const kind = weighted<ContainerKind>(random, [
    ['plain', 4], ['health', 3], ['gated', 2], ['multi', 2], ['mapped', 2],
    ['malformed', 1], ['unknown-group', 1], ['disallowed', 1],
  ]);
  const groups =
    kind === 'multi' ? twoOf(random, ALLOWED_GROUPS)
    : kind === 'mapped' ? [MAPPED_GROUP]
    : BAD_INPUT_KINDS.has(kind) ? []
    : [pick(random, ALLOWED_GROUPS)];
  return {
    kind,
    groups,
    healthcheck: kind === 'health' || kind === 'gated',
    restartPolicy: weighted<RestartPolicy>(random, [['no', 2], ['on-failure', 1], ['always', 1]]),
    stopGraceSec: random() < 0.25 ? 1 : 0,
  };
}

function twoOf(random: () => number, items: readonly string[]): string[] {
  const first = pick(random, items);
  return [first, pick(random, items.filter((i) => i !== first))];
}

/**
 * The next churn action for this roster and these foreign targets (group -> ports the second
 * host holds): keeps the roster within its limits and only acts on containers it can act on.
 */
export function nextChurn(
  random: () => number,
  roster: readonly RosterEntry[],
  foreign: ReadonlyMap<string, readonly number[]>,
  limits: RosterLimits = DEFAULT_ROSTER_LIMITS,
): ChurnAction {
  const up = roster.filter((c) => c.up);
  const down = roster.filter((c) => !c.up);
  const flappable = up.filter((c) => c.healthcheck);
  const foreignHeld = [...foreign.entries()].flatMap(([group, ports]) => ports.map((port) => ({ group, port })));
  const kind = weighted<ChurnKind>(random, [
    ['start', roster.length < limits.min ? 10 : roster.length >= limits.max ? 0 : 3],
    ['stop', up.length > 0 ? 2 : 0],
    ['kill', up.length > 0 ? 1 : 0],
    ['crash', up.length > 0 ? 1 : 0],
    ['restart', roster.length > 0 ? 1.5 : 0],
    ['health-flap', flappable.length > 0 ? 2 : 0],
    ['remove', roster.length >= limits.max ? 10 : down.length > 0 ? 1.5 : 0],
    ['foreign-register', foreignHeld.length < 6 ? 1 : 0],
    ['foreign-deregister', foreignHeld.length > 2 ? 0.7 : 0],
  ]);
  switch (kind) {
    case 'start':
      return { kind, container: newContainer(random) };
    case 'stop':
    case 'kill':
    case 'crash':
      return { kind, name: pick(random, up).name };
    case 'restart':
      return { kind, name: pick(random, roster).name };
    case 'remove':
      return { kind, name: pick(random, down.length > 0 ? down : roster).name };
    case 'health-flap':
      return { kind, name: pick(random, flappable).name, healthy: random() < 0.5 };
    case 'foreign-register':
      return { kind, group: pick(random, ALLOWED_GROUPS), port: 31000 + Math.floor(random() * 1000) };
    case 'foreign-deregister': {
      const held = pick(random, foreignHeld);
      return { kind, group: held.group, port: held.port };
    }
  }
}
