/**
 * Runs one scenario of the fleet simulation and summarises it: API calls per second against
 * the budget per class, the fraction throttled, how long until every host's groups are exact
 * again, the drift-repair interval the agents chose, the Describe spend at rest, and a time
 * series for plotting.
 */
import { DEFAULT_ELB_API_LIMITS, driftRepairIntervalMs, type ApiLimits } from '../../agent/fleet/api-budget.ts';
import { paceViolations, POLICIES, type PolicyName } from './policies.ts';
import { makeScenario, type ScenarioName, type ScenarioParams } from './scenarios.ts';
import type { PaceFactory } from './sim-host.ts';
import type { Lag } from './tracker.ts';
import { World } from './world.ts';

export interface SimConfig {
  readonly hosts: number;
  readonly groups: number;
  readonly seed: number;
  readonly scenario: ScenarioName;
  /** Upper bound of virtual time (hours); event scenarios stop earlier, once every host is exact. */
  readonly maxHours: number;
  /** Length of the steady and restart runs after t0 (hours); default from the drift-repair interval. */
  readonly hours?: number;
  /** The fleet is at rest this long before the scenario's event (ms): the at-rest window. */
  readonly restMs: number;
  /** Agents start at a random point of this window (ms). */
  readonly startSpreadMs: number;
  readonly accountLimits: ApiLimits;
  /** --elb-api-limits given to the agents (default: the account's). */
  readonly agentLimits?: ApiLimits;
  /** --fleet-size given to the agents (default: hosts). */
  readonly fleetSize?: number;
  readonly reconcileIntervalMs: number;
  readonly addressCheckIntervalMs: number;
  readonly retryMaxDelayMs: number;
  readonly latencyMs: readonly [number, number];
  readonly deregistrationDelayMs: number;
  readonly bucketMs: number;
  readonly sharedContainers: boolean;
  readonly eventDelayMs: readonly [number, number];
  readonly warm: boolean;
  readonly policy: PolicyName;
  /** Overrides the policy's pace (prototypes). */
  readonly pace?: PaceFactory;
  readonly recordCalls: boolean;
  readonly params: ScenarioParams;
  /** Told now and then how far the run got (virtual ms). */
  readonly progress?: (virtualMs: number) => void;
}

export const DEFAULT_PARAMS: ScenarioParams = {
  churnHours: 6,
  backgroundChurn: false,
  deployPerMinute: 500,
  stopAfterMs: 30_000,
  stopGraceMs: [1_000, 10_000],
  vpnOutageMs: 15 * 60_000,
  vpnDetectMs: [50_000, 60_000],
  vpnReconnectSpreadMs: 300_000,
  vpnHandshakeMs: [1_000, 3_000],
  restartWindowMs: 300_000,
  restartDownMs: [2_000, 10_000],
  gateCheckIntervalMs: 10_000,
  stopAfterHealthyMs: [1_000, 5_000],
  sharedPauseMs: 500,
};

export function defaultConfig(overrides: Partial<SimConfig> = {}): SimConfig {
  return {
    hosts: 100,
    groups: 3,
    seed: 1,
    scenario: 'deploy',
    maxHours: 24,
    restMs: 30 * 60_000,
    startSpreadMs: 60_000,
    accountLimits: DEFAULT_ELB_API_LIMITS,
    reconcileIntervalMs: 60_000,
    addressCheckIntervalMs: 2_000,
    retryMaxDelayMs: 30_000,
    latencyMs: [30, 80],
    deregistrationDelayMs: 300_000,
    bucketMs: 10_000,
    sharedContainers: false,
    eventDelayMs: [1, 20],
    warm: true,
    policy: 'current',
    recordCalls: false,
    params: DEFAULT_PARAMS,
    ...overrides,
  };
}

export interface Percentiles {
  readonly n: number;
  readonly notConverged: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface ClassSummary {
  readonly allowed: number;
  readonly throttled: number;
  readonly throttledFraction: number;
  /** Calls let through per second, mean over the window. */
  readonly perSecond: number;
  /** Calls sent (allowed + throttled) per second, mean over the window. */
  readonly attemptedPerSecond: number;
  /** The busiest time bucket's calls sent per second. */
  readonly peakAttemptedPerSecond: number;
  readonly budgetPerSecond: number;
}

export interface SimResult {
  readonly scenario: ScenarioName;
  readonly description: string;
  readonly policy: string;
  readonly hosts: number;
  readonly groups: number;
  readonly seed: number;
  readonly fleetSize: number;
  readonly accountLimits: ApiLimits;
  readonly agentLimits: ApiLimits;
  /** When the event began (virtual ms). */
  readonly eventAtMs: number;
  /** When the run ended (virtual ms). */
  readonly endMs: number;
  readonly wallMs: number;
  /** Calls over the event window (from when the work began until every host was exact again; the whole run after t0 for steady and restart). */
  readonly event: { readonly fromMs: number; readonly toMs: number; readonly change: ClassSummary; readonly describe: ClassSummary; readonly throttledFraction: number };
  /** Calls over the whole run. */
  readonly total: { readonly change: ClassSummary; readonly describe: ClassSummary; readonly throttledFraction: number };
  /** Time until each touched host was exact again after its last action (what the agent adds). */
  readonly lag: Percentiles;
  /** From each touched host's first action (e.g. its new task started) until exact after the last. */
  readonly span: Percentiles;
  /** Per kind of episode (the key before the colon: start, stop, deploy, vpn, ...): how many, and when the last host was exact after its first and its last action. */
  readonly byKind: Readonly<Record<string, { readonly n: number; readonly maxFromFirstMs: number; readonly maxFromLastMs: number }>>;
  /** When every touched host was exact, after the work began (t0; the VPN server back) (ms); Infinity if not by the end, NaN for steady state. */
  readonly allExactAfterMs: number;
  /** The event's least change calls at the account's change rate (ms). */
  readonly floorMs?: number;
  readonly floorCalls?: number;
  readonly driftRepairIntervalMs: { readonly min: number; readonly max: number; readonly expected: number };
  /** Describe calls per second while the fleet is at rest, against the Describe refill. */
  readonly describeAtRest: { readonly fromMs: number; readonly toMs: number; readonly perSecond: number; readonly fractionOfRefill: number };
  readonly paceAtEnd: { readonly changeMedian: number; readonly changeMin: number };
  /** Hosts whose groups were not exact when the run ended. */
  readonly inexactAtEnd: number;
  readonly passes: number;
  readonly failedPasses: number;
  /** Real timers set while the run went (a call that had to sleep for its pace) plus a prototype pace's own count: should be 0. */
  readonly paceViolations: number;
  readonly series: { readonly bucketMs: number; readonly describe: number[]; readonly describeThrottled: number[]; readonly change: number[]; readonly changeThrottled: number[] };
  readonly calls?: readonly { time: number; host: number; action: string; targetGroupArn: string; targets: number; throttled: boolean }[];
}

function percentiles(lags: readonly number[]): Percentiles {
  const done = lags.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const notConverged = lags.length - done.length;
  const at = (q: number) => {
    if (lags.length === 0) return 0;
    const rank = Math.ceil(q * lags.length) - 1;
    return rank < done.length ? (done[Math.max(0, rank)] as number) : Number.POSITIVE_INFINITY;
  };
  return { n: lags.length, notConverged, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: notConverged > 0 ? Number.POSITIVE_INFINITY : (done[done.length - 1] ?? 0) };
}

function byKind(lags: readonly Lag[]): SimResult['byKind'] {
  const out: Record<string, { n: number; maxFromFirstMs: number; maxFromLastMs: number }> = {};
  for (const l of lags) {
    const kind = l.key.split(':')[0] as string;
    const k = (out[kind] ??= { n: 0, maxFromFirstMs: 0, maxFromLastMs: 0 });
    k.n++;
    k.maxFromFirstMs = Math.max(k.maxFromFirstMs, l.fromFirstMs);
    k.maxFromLastMs = Math.max(k.maxFromLastMs, l.fromLastMs);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor(s.length / 2)] as number);
}

/** Runs one scenario. */
export async function simulate(config: SimConfig): Promise<SimResult> {
  const started = performance.now();
  const fleetSize = config.fleetSize ?? config.hosts;
  const agentLimits = config.agentLimits ?? config.accountLimits;
  const expectedInterval = driftRepairIntervalMs({ fleetSize, groups: config.groups, limits: agentLimits }, config.reconcileIntervalMs);
  const horizonMs = config.hours !== undefined ? config.hours * 3_600_000 : Math.max(3_600_000, 1.2 * expectedInterval);
  const scenario = makeScenario(config.scenario, config.params, config.scenario === 'restart' ? config.params.restartWindowMs + Math.min(horizonMs, 30 * 60_000) : horizonMs, config.groups, config.hosts);
  const policy = POLICIES[config.policy];
  const pace = config.pace ?? policy.pace;
  const violationsBefore = paceViolations.count;
  // Nothing in a simulated agent may wait on a real timer (PacedRegistry sleeps with setTimeout when
  // a call goes out before its pace allows it; the reconciler asks the pace first, so it never should).
  const realSetTimeout = globalThis.setTimeout;
  let realTimers = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    realTimers++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  const world = new World({
    hosts: config.hosts,
    groups: config.groups,
    seed: config.seed,
    accountLimits: config.accountLimits,
    agentLimits,
    fleetSize,
    reconcileIntervalMs: config.reconcileIntervalMs,
    addressCheckIntervalMs: config.addressCheckIntervalMs,
    retryMaxDelayMs: config.retryMaxDelayMs,
    latencyMs: config.latencyMs,
    deregistrationDelayMs: config.deregistrationDelayMs,
    bucketMs: config.bucketMs,
    sharedContainers: config.sharedContainers,
    eventDelayMs: config.eventDelayMs,
    warm: config.warm,
    ...(pace ? { pace } : {}),
    ...(!config.pace && policy.registry ? { wrapRegistry: policy.registry } : {}),
    recordCalls: config.recordCalls,
  });
  const clock = world.clock;
  for (const host of world.hosts) clock.at(world.random() * config.startSpreadMs, () => void host.startAgent());
  const t0 = config.restMs;
  clock.at(t0, () => scenario.schedule(world, t0));

  const endCap = scenario.fixedMs !== undefined ? t0 + scenario.fixedMs : config.maxHours * 3_600_000;
  let lastProgress = 0;
  let doneAt: number | undefined;
  // Event scenarios end a little after every action is applied and every host is exact again.
  const tail = 3 * config.bucketMs;
  const stop = () => {
    const now = clock.now();
    if (config.progress && now - lastProgress >= 600_000) {
      lastProgress = now;
      config.progress(now);
    }
    if (scenario.fixedMs !== undefined || now < t0) return false;
    if (doneAt === undefined && scenario.finished() && world.tracker.inexact === 0) doneAt = now;
    return doneAt !== undefined && now >= doneAt + tail;
  };
  try {
    await clock.run(endCap, stop);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  const endMs = clock.now();

  const lags = world.tracker.lags(scenario.episodes);
  const workFrom = t0 + scenario.workAfterMs;
  const allExactAt = lags.length === 0 ? workFrom : Math.max(...lags.map((l: Lag) => l.exactAt));
  const eventTo = scenario.fixedMs !== undefined ? endMs : Number.isFinite(allExactAt) ? Math.max(allExactAt, workFrom + config.bucketMs) : endMs;
  const series = world.model.series;
  const bucketOf = (t: number) => Math.floor(t / config.bucketMs);
  const sum = (from: number, to: number, pick: (b: (typeof series)[number]) => number) => {
    let n = 0;
    for (let i = bucketOf(from); i < Math.min(series.length, Math.ceil(to / config.bucketMs)); i++) n += pick(series[i] as (typeof series)[number]);
    return n;
  };
  const classSummary = (cls: 'change' | 'describe', from: number, to: number): ClassSummary => {
    const allowed = sum(from, to, (b) => b[cls]);
    const throttled = sum(from, to, (b) => (cls === 'change' ? b.changeThrottled : b.describeThrottled));
    const seconds = Math.max(1, Math.ceil(to / config.bucketMs) - bucketOf(from)) * (config.bucketMs / 1000);
    let peak = 0;
    for (let i = bucketOf(from); i < Math.min(series.length, Math.ceil(to / config.bucketMs)); i++) {
      const b = series[i] as (typeof series)[number];
      peak = Math.max(peak, (cls === 'change' ? b.change + b.changeThrottled : b.describe + b.describeThrottled) / (config.bucketMs / 1000));
    }
    return {
      allowed,
      throttled,
      throttledFraction: allowed + throttled > 0 ? throttled / (allowed + throttled) : 0,
      perSecond: allowed / seconds,
      attemptedPerSecond: (allowed + throttled) / seconds,
      peakAttemptedPerSecond: peak,
      budgetPerSecond: config.accountLimits[cls].perSecond,
    };
  };
  const frac = (a: ClassSummary, b: ClassSummary) => (a.throttled + b.throttled) / Math.max(1, a.allowed + a.throttled + b.allowed + b.throttled);
  const eventChange = classSummary('change', workFrom, eventTo);
  const eventDescribe = classSummary('describe', workFrom, eventTo);
  const totalChange = classSummary('change', 0, endMs);
  const totalDescribe = classSummary('describe', 0, endMs);
  // At rest: before the event (the whole run for steady state, which is all rest and churn).
  const restFrom = 0;
  const restTo = scenario.name === 'steady' ? endMs : t0;
  const restDescribes = sum(restFrom, restTo, (b) => b.describe + b.describeThrottled);
  const restSeconds = (Math.ceil(restTo / config.bucketMs) - bucketOf(restFrom)) * (config.bucketMs / 1000);
  const intervals = world.hosts.map((x) => x.driftRepairIntervalMs).filter((x): x is number => x !== undefined);
  const rates = world.hosts.map((x) => x.paceRates()?.change ?? x.lastChangeRate ?? agentLimits.change.perSecond);
  const perSec = (xs: number[]) => xs.map((x) => x / (config.bucketMs / 1000));
  return {
    scenario: scenario.name,
    description: scenario.description,
    policy: config.pace ? 'custom' : config.policy,
    hosts: config.hosts,
    groups: config.groups,
    seed: config.seed,
    fleetSize,
    accountLimits: config.accountLimits,
    agentLimits,
    eventAtMs: t0,
    endMs,
    wallMs: performance.now() - started,
    event: { fromMs: workFrom, toMs: eventTo, change: eventChange, describe: eventDescribe, throttledFraction: frac(eventChange, eventDescribe) },
    total: { change: totalChange, describe: totalDescribe, throttledFraction: frac(totalChange, totalDescribe) },
    lag: percentiles(lags.map((l) => l.fromLastMs)),
    byKind: byKind(lags),
    span: percentiles(lags.map((l) => l.fromFirstMs)),
    allExactAfterMs: scenario.fixedMs !== undefined && scenario.name === 'steady' ? Number.NaN : allExactAt - workFrom,
    ...(scenario.floorCalls !== undefined ? { floorCalls: scenario.floorCalls, floorMs: Math.max(0, (1000 * (scenario.floorCalls - config.accountLimits.change.burst)) / config.accountLimits.change.perSecond) } : {}),
    driftRepairIntervalMs: { min: Math.min(...intervals), max: Math.max(...intervals), expected: expectedInterval },
    describeAtRest: { fromMs: restFrom, toMs: restTo, perSecond: restDescribes / restSeconds, fractionOfRefill: restDescribes / restSeconds / config.accountLimits.describe.perSecond },
    paceAtEnd: { changeMedian: median(rates), changeMin: Math.min(...rates) },
    inexactAtEnd: world.tracker.inexact,
    passes: world.hosts.reduce((n, x) => n + x.passes, 0),
    failedPasses: world.hosts.reduce((n, x) => n + x.failedPasses, 0),
    paceViolations: paceViolations.count - violationsBefore + realTimers,
    series: {
      bucketMs: config.bucketMs,
      describe: perSec(series.map((b) => b.describe)),
      describeThrottled: perSec(series.map((b) => b.describeThrottled)),
      change: perSec(series.map((b) => b.change)),
      changeThrottled: perSec(series.map((b) => b.changeThrottled)),
    },
    ...(config.recordCalls ? { calls: world.model.calls } : {}),
  };
}
