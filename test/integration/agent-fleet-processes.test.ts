// Ten real agent processes (distinct host addresses 10.8.0.11-10.8.0.20, distinct state
// dirs and access keys, --fleet-size 10) against one local ELBv2 endpoint whose account
// buckets are scaled down (change 2/s burst 2, describe 1/s burst 4; the agents are told the
// same with --elb-api-limits). They share the one Docker engine, so every agent sees every
// container: a container start is a synchronized fleet-wide event, ten hosts against a
// burst of two (the shape of 10,000 hosts against the account's burst of 20). The fleet
// simulation models exactly that (scenario shared-start-stop) and runs in-process with the
// same parameters over several seeds; the measured call counts and convergence times must
// fall within its prediction, with the tolerances stated below.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiLimits } from '../../agent/fleet/api-budget.ts';
import { defaultConfig, DEFAULT_PARAMS, simulate, type SimResult } from '../../scripts/fleet-sim/simulate.ts';
import { createWorld, targetLabels, type World } from '../support/agent-world.ts';
import { tempDir, type AgentProcess } from '../support/agent-process.ts';
import type { RequestLogEntry } from '../support/local-elbv2/index.ts';
import { waitFor } from '../support/wait.ts';

const AGENTS = 10;
const LIMITS = 'change=2:2,describe=1:4';
const RECONCILE_INTERVAL_S = 10;
const SEEDS = 24;
const ips = Array.from({ length: AGENTS }, (_, i) => `10.8.0.${11 + i}`);

let world: World;
const agents: AgentProcess[] = [];
const stateDirs: { path: string; remove(): void }[] = [];

beforeAll(async () => {
  const limits = parseApiLimits(LIMITS);
  world = await createWorld({
    groups: ['fleet'],
    deregistrationDelaySeconds: 1,
    elb: {
      accountThrottle: {
        change: { ratePerSecond: limits.change.perSecond, burst: limits.change.burst },
        describe: { ratePerSecond: limits.describe.perSecond, burst: limits.describe.burst },
      },
    },
  });
});

afterAll(async () => {
  await world?.close();
  for (const d of stateDirs) d.remove();
});

/** The measurement of one real run, on the same scale as the simulation's results. */
interface Measured {
  registerAllowed: number;
  registerThrottled: number;
  deregisterAllowed: number;
  deregisterThrottled: number;
  describeAllowed: number;
  describeThrottled: number;
  describePerSecond: number;
  /** Container started -> the last host's RegisterTargets went through (ms). */
  registeredAfterMs: number;
  /** Stop signal -> the last host's DeregisterTargets went through (ms). */
  deregisteredAfterMs: number;
}

const count = (log: readonly RequestLogEntry[], action: string, throttled: boolean) => log.filter((e) => e.action === action && (e.errorCode === 'Throttling') === throttled).length;

/** The simulation of the same configuration, one seed. */
async function predict(seed: number, timing: { startSpreadMs: number; restMs: number; eventDelayMs: readonly [number, number] }): Promise<SimResult> {
  return simulate(
    defaultConfig({
      hosts: AGENTS,
      groups: 1,
      seed,
      scenario: 'shared-start-stop',
      sharedContainers: true,
      warm: false,
      startSpreadMs: timing.startSpreadMs,
      restMs: timing.restMs,
      accountLimits: parseApiLimits(LIMITS),
      reconcileIntervalMs: RECONCILE_INTERVAL_S * 1000,
      // A local HTTP round trip from ten busy Node processes on two cores; Docker events reach each
      // agent as late as they did in this run (measured: a loaded machine delays them by seconds).
      latencyMs: [3, 30],
      eventDelayMs: timing.eventDelayMs,
      deregistrationDelayMs: 1000,
      recordCalls: true,
      // busybox httpd exits on SIGTERM at once; the test stops the container about 0.3 s after seeing every target.
      params: { ...DEFAULT_PARAMS, stopGraceMs: [50, 500], sharedPauseMs: 300 },
    }),
  );
}

function simulated(r: SimResult): Measured {
  const calls = r.calls ?? [];
  const n = (action: string, throttled: boolean) => calls.filter((c) => c.action === action && c.throttled === throttled).length;
  const lastDeregistration = Math.max(...calls.filter((c) => c.action === 'DeregisterTargets' && !c.throttled).map((c) => c.time));
  const reads = calls.filter((c) => c.action === 'DescribeTargetHealth' && !c.throttled && c.time <= lastDeregistration).length;
  const start = r.byKind.start as { maxFromFirstMs: number };
  const stop = r.byKind.stop as { maxFromFirstMs: number };
  return {
    registerAllowed: n('RegisterTargets', false),
    registerThrottled: n('RegisterTargets', true),
    deregisterAllowed: n('DeregisterTargets', false),
    deregisterThrottled: n('DeregisterTargets', true),
    // Reads over the same span as measured: from the first agent's start to the last deregistration.
    describeAllowed: reads,
    describeThrottled: n('DescribeTargetHealth', true),
    describePerSecond: reads / (lastDeregistration / 1000),
    registeredAfterMs: start.maxFromFirstMs,
    deregisteredAfterMs: stop.maxFromFirstMs,
  };
}

describe('ten agent processes sharing one account and one Docker engine', () => {
  it('spend what the fleet simulation predicts for the same configuration, and converge within its prediction', async () => {
    const spawnedAt: number[] = [];
    for (const [i, ip] of ips.entries()) {
      const state = tempDir('ecslb-fleet-state-');
      stateDirs.push(state);
      spawnedAt.push(Date.now());
      agents.push(
        world.startAgent({
          ECS_ANYWHERE_LB_HOST_IP: ip,
          ECS_ANYWHERE_LB_STATE_DIR: state.path,
          AWS_ACCESS_KEY_ID: `AKIDFLEETHOST${String(i + 1).padStart(2, '0')}`,
          ECS_ANYWHERE_LB_FLEET_SIZE: String(AGENTS),
          ECS_ANYWHERE_LB_ELB_API_LIMITS: LIMITS,
          ECS_ANYWHERE_LB_RECONCILE_INTERVAL: `${RECONCILE_INTERVAL_S}s`,
          // debug: the Docker event lines, whose times say how late each agent heard of the container.
          ECS_ANYWHERE_LB_LOG_LEVEL: 'debug',
        }),
      );
    }
    await Promise.all(agents.map((a) => a.ready(30_000)));
    const firstStart = spawnedAt[0] as number;
    const log = world.elb.requestLog;
    const arn = world.groups.fleet as string;
    const live = () => world.snapshot('fleet').filter((t) => t.state !== 'draining').map((t) => t.id);

    // One container on the shared engine: every agent registers its own address for it.
    const c = await world.startContainer({ family: 'fleet', dockerLabels: targetLabels(arn), waitUntilServing: false });
    const startedAt = Date.parse(((await c.inspect()).State as { StartedAt: string }).StartedAt);
    await waitFor(() => live().length === AGENTS, { description: `every agent registered (now ${JSON.stringify(live())})`, timeoutMs: 40_000, intervalMs: 100 });
    await new Promise((r) => setTimeout(r, 200));
    const stoppedAt = Date.now();
    await c.stop(5);
    await waitFor(() => live().length === 0, { description: `every agent deregistered (now ${JSON.stringify(live())})`, timeoutMs: 40_000, intervalMs: 100 });
    const lastAllowed = (action: string) => Math.max(...log.filter((e) => e.action === action && e.status === 200).map((e) => e.time));
    const lastDeregistration = lastAllowed('DeregisterTargets');
    const measured: Measured = {
      registerAllowed: count(log, 'RegisterTargets', false),
      registerThrottled: count(log, 'RegisterTargets', true),
      deregisterAllowed: count(log, 'DeregisterTargets', false),
      deregisterThrottled: count(log, 'DeregisterTargets', true),
      describeAllowed: count(log, 'DescribeTargetHealth', false),
      describeThrottled: count(log, 'DescribeTargetHealth', true),
      describePerSecond: count(log, 'DescribeTargetHealth', false) / ((lastDeregistration - firstStart) / 1000),
      registeredAfterMs: lastAllowed('RegisterTargets') - startedAt,
      deregisteredAfterMs: lastDeregistration - stoppedAt,
    };
    // The endpoint's own counters agree with its request log.
    const stats = world.elb.throttleStats();
    expect(stats.change).toEqual({ allowed: measured.registerAllowed + measured.deregisterAllowed, throttled: measured.registerThrottled + measured.deregisterThrottled });
    // Every call came from one of the ten hosts and named only its own address.
    expect(new Set(log.filter((e) => e.action === 'RegisterTargets').flatMap((e) => (e.targets ?? []).map((t) => `${e.caller}|${t.id}`))).size).toBe(AGENTS);

    // The simulation of the same configuration: the agents started over the measured spread, the
    // container as measured, and each agent hearing of its start and its stop as late as it did here.
    const heard = (action: string, since: number) => agents.map((a) => {
      const line = a.find((l) => l.event === 'docker-event' && l.action === action && l.containerId === c.id.slice(0, 12))[0];
      return line ? Date.parse(String(line.timestamp)) - since : undefined;
    }).filter((ms): ms is number => ms !== undefined);
    const delays = [...heard('start', startedAt), ...heard('kill', stoppedAt)];
    expect(delays.length, 'Docker event lines of the start and the stop').toBeGreaterThanOrEqual(AGENTS);
    const eventDelayMs = [Math.max(1, Math.min(...delays)), Math.max(2, ...delays)] as const;
    const timing = { startSpreadMs: Math.max(1, (spawnedAt[AGENTS - 1] as number) - firstStart), restMs: startedAt - firstStart, eventDelayMs };
    const runs: Measured[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) runs.push(simulated(await predict(seed, timing)));
    const range = (pick: (m: Measured) => number) => ({ min: Math.min(...runs.map(pick)), max: Math.max(...runs.map(pick)) });
    const prediction = Object.fromEntries((Object.keys(measured) as (keyof Measured)[]).map((k) => [k, range((m) => m[k])]));
    console.log(`[fleet] measured ${JSON.stringify(measured)}, Docker events heard after ${eventDelayMs[0]}-${eventDelayMs[1]} ms\n[fleet] predicted over ${SEEDS} seeds ${JSON.stringify(prediction)}`);

    // Exact in both: one RegisterTargets and one DeregisterTargets per host went through.
    for (const m of [measured, ...runs]) {
      expect(m.registerAllowed).toBe(AGENTS);
      expect(m.deregisterAllowed).toBe(AGENTS);
    }
    // Throttled calls: within the simulated range, give or take 2 (which host wins a token is a race of ten processes).
    const within = (value: number, r: { min: number; max: number }, below: number, above: number) => {
      expect(value).toBeGreaterThanOrEqual(r.min - below);
      expect(value).toBeLessThanOrEqual(r.max + above);
    };
    within(measured.registerThrottled, range((m) => m.registerThrottled), 2, 2);
    within(measured.deregisterThrottled, range((m) => m.deregisterThrottled), 2, 2);
    // A read is rarely throttled (ten first reads spread over 20 s against a bucket of 4 at 1/s).
    within(measured.describeThrottled, range((m) => m.describeThrottled), 0, 2);
    // Reads: the drift-repair rate the simulation predicts (10 hosts x 1 group every 20 s), within 35%.
    within(measured.describePerSecond, { min: range((m) => m.describePerSecond).min * 0.65, max: range((m) => m.describePerSecond).max * 1.35 }, 0, 0);
    // Convergence: within the simulated range, 30% or 1 s early to 30% + 2 s late (processes on two busy cores).
    const late = (r: { min: number; max: number }) => ({ min: Math.min(r.min * 0.7, r.min - 1000), max: r.max * 1.3 + 2000 });
    within(measured.registeredAfterMs, late(range((m) => m.registeredAfterMs)), 0, 0);
    within(measured.deregisteredAfterMs, late(range((m) => m.deregisteredAfterMs)), 0, 0);
  }, 90_000);
});
