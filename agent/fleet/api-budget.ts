/**
 * The ELB API budget the agent plans with. ELBv2 throttles per account and region with token
 * buckets shared by every caller (every host of a fleet, and the customer's own tooling), so
 * a host sizes what it spends by the fleet it belongs to. Pure: figures in, intervals out.
 */

/** The API classes ELBv2 budgets separately: target changes, and reads (Describe*). */
export type ApiClass = 'change' | 'describe';
export const API_CLASSES: readonly ApiClass[] = ['change', 'describe'];

/** A token bucket's refill rate and capacity. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export type ApiLimits = Readonly<Record<ApiClass, RateLimit>>;

/**
 * The account's budget per region when nobody raised it: RegisterTargets/DeregisterTargets
 * 4/s with a burst of 20 (what the AWS Load Balancer Controller limits itself to "to match
 * ELBv2 API limits"), Describe* a bucket of 40 refilled at 10/s (the ELB guide's example,
 * lower than the controller's 50/s).
 */
export const DEFAULT_ELB_API_LIMITS: ApiLimits = {
  change: { perSecond: 4, burst: 20 },
  describe: { perSecond: 10, burst: 40 },
};

/** The share of the account's Describe refill the whole fleet may spend on drift repair at rest. */
export const DRIFT_REPAIR_BUDGET_SHARE = 0.5;

/**
 * The share of the account's change refill a fleet-wide wave of moves (every host's address
 * changed at once, e.g. after a regional VPN outage) is spread to: below 1, so the account's
 * burst absorbs the randomness of the arrivals and the customer's own tooling keeps some room.
 */
export const FLEET_SPREAD_UTILISATION = 0.8;

/**
 * The share of the account's Describe refill the whole fleet may spend on readiness-gate reads
 * while a deployment waits for them (drift repair keeps its own half; the rest is headroom).
 */
export const GATE_READ_BUDGET_SHARE = 0.4;

/** Which class an ELBv2 action draws from. */
export function apiClassOf(action: string): ApiClass {
  return /^(Register|Deregister)Targets$/.test(action) ? 'change' : 'describe';
}

/** Formats limits as `--elb-api-limits` takes them. */
export function formatApiLimits(limits: ApiLimits): string {
  return API_CLASSES.map((c) => `${c}=${limits[c].perSecond}:${limits[c].burst}`).join(',');
}

/**
 * Parses `--elb-api-limits`: comma-separated `CLASS=RATE:BURST` for the classes `change`
 * (RegisterTargets, DeregisterTargets) and `describe` (Describe*), e.g.
 * `change=20:100,describe=50:200`. A class left out keeps its default. Throws with the reason.
 */
export function parseApiLimits(text: string, defaults: ApiLimits = DEFAULT_ELB_API_LIMITS): ApiLimits {
  const out: Record<ApiClass, RateLimit> = { ...defaults };
  const seen = new Set<string>();
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([a-z]+)=([0-9]+(?:\.[0-9]+)?):([0-9]+)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)`);
    const cls = m[1] as string;
    if (!(API_CLASSES as readonly string[]).includes(cls)) throw new Error(`unknown API class "${cls}" (expected ${API_CLASSES.join(', ')})`);
    if (seen.has(cls)) throw new Error(`"${cls}" is given twice`);
    seen.add(cls);
    const perSecond = Number(m[2]);
    const burst = Number(m[3]);
    if (!(perSecond > 0)) throw new Error(`the rate of "${cls}" must be above 0`);
    if (burst < 1) throw new Error(`the burst of "${cls}" must be at least 1`);
    out[cls as ApiClass] = { perSecond, burst };
  }
  return out;
}

/** What sizes a host's reads: the fleet that shares the account and region, and this host's groups. */
export interface FleetShape {
  readonly fleetSize: number;
  /** Target groups this host is in (reads one each per drift repair). */
  readonly groups: number;
  readonly limits: ApiLimits;
}

/**
 * The time the whole fleet needs to read each of its groups once at the drift-repair budget:
 * fleetSize x groups reads at DRIFT_REPAIR_BUDGET_SHARE of the Describe refill. A host's first
 * reads after start are spread over it (a fleet-wide upgrade restarts every agent at once).
 */
export function fleetReadWindowMs(shape: FleetShape): number {
  const reads = shape.fleetSize * Math.max(1, shape.groups);
  return spreadMs(reads, shape.limits.describe, DRIFT_REPAIR_BUDGET_SHARE);
}

/** How often a host re-reads each of its groups to repair drift: the fleet read window, never more often than `minMs`. */
export function driftRepairIntervalMs(shape: FleetShape, minMs: number): number {
  return Math.max(minMs, fleetReadWindowMs(shape));
}

/** A pass's drift-repair figures: the fleet read window (first reads spread over it) and the interval between a group's reads. */
export function readBudget(shape: FleetShape, minMs: number): { readonly windowMs: number; readonly intervalMs: number } {
  return { windowMs: fleetReadWindowMs(shape), intervalMs: driftRepairIntervalMs(shape, minMs) };
}

/**
 * The window a fleet-wide wave of changes is spread over: as long as the account needs for
 * every host's `calls` at FLEET_SPREAD_UTILISATION of the change refill. A host draws its own
 * moment in it, so the wave arrives at the account's pace instead of all at once.
 */
export function fleetChangeWindowMs(fleetSize: number, calls: number, limits: ApiLimits): number {
  return spreadMs(fleetSize * calls, limits.change, FLEET_SPREAD_UTILISATION);
}

/**
 * How often a host re-reads a group in which a gated container waits: every host of the fleet
 * waiting at once spends at most GATE_READ_BUDGET_SHARE of the Describe refill (one group each).
 */
export function gateReadIntervalMs(fleetSize: number, limits: ApiLimits): number {
  return spreadMs(fleetSize, limits.describe, GATE_READ_BUDGET_SHARE);
}

/** How long `calls` take at `share` of a class's refill (ms, rounded up): the one formula behind every window above. */
function spreadMs(calls: number, limit: RateLimit, share: number): number {
  return Math.ceil((1000 * calls) / (limit.perSecond * share));
}
