// The ELB API budget as pure figures: --elb-api-limits parsed and formatted, which class an
// action draws from, and how often a host may read so that the whole fleet stays within
// DRIFT_REPAIR_BUDGET_SHARE of the account's Describe refill.
import { describe, expect, it } from 'vitest';
import {
  GATE_READ_BUDGET_SHARE,
  gateReadIntervalMs,
  FLEET_SPREAD_UTILISATION,
  fleetChangeWindowMs,
  DEFAULT_ELB_API_LIMITS,
  DRIFT_REPAIR_BUDGET_SHARE,
  apiClassOf,
  driftRepairIntervalMs,
  fleetReadWindowMs,
  formatApiLimits,
  parseApiLimits,
  type ApiLimits,
} from '../../agent/fleet/api-budget.ts';

const MIN_INTERVAL_MS = 60_000;
const limits = (change: [number, number], describe: [number, number]): ApiLimits => ({
  change: { perSecond: change[0], burst: change[1] },
  describe: { perSecond: describe[0], burst: describe[1] },
});

describe('parseApiLimits', () => {
  it.each<[string, string, ApiLimits]>([
    ['empty text: the defaults', '', DEFAULT_ELB_API_LIMITS],
    ['both classes', 'change=20:100,describe=50:200', limits([20, 100], [50, 200])],
    ['either order', 'describe=50:200,change=20:100', limits([20, 100], [50, 200])],
    ['one class: the other keeps its default', 'describe=50:200', limits([4, 20], [50, 200])],
    ['a fractional rate', 'change=0.5:1', limits([0.5, 1], [10, 40])],
    ['spaces around parts and empty parts are ignored', ' change=8:30 , ,describe=12:48, ', limits([8, 30], [12, 48])],
    ['leading zeros are numbers', 'change=04:020', limits([4, 20], [10, 40])],
  ])('%s: %j', (_name, text, expected) => {
    expect(parseApiLimits(text)).toEqual(expected);
  });

  it('fills left-out classes from the defaults it is given, without changing them', () => {
    const defaults = limits([1, 2], [3, 4]);
    expect(parseApiLimits('change=5:6', defaults)).toEqual(limits([5, 6], [3, 4]));
    expect(defaults).toEqual(limits([1, 2], [3, 4]));
    expect(DEFAULT_ELB_API_LIMITS).toEqual(limits([4, 20], [10, 40]));
  });

  it.each([
    ['change', '"change" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)'],
    ['change=4', '"change=4" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)'],
    ['change=4:', '"change=4:" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)'],
    ['change=-1:20', '"change=-1:20" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)'],
    ['change=4:2.5', '"change=4:2.5" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)'],
    ['change=4.:20', '"change=4.:20" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)'],
    ['Change=4:20', '"Change=4:20" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)'],
    ['change = 4:20', '"change = 4:20" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)'],
    ['change=4:20;describe=10:40', '"change=4:20;describe=10:40" is not CLASS=RATE:BURST (e.g. change=4:20,describe=10:40)'],
    ['other=1:1', 'unknown API class "other" (expected change, describe)'],
    ['change=4:20,describe=10:40,change=5:20', '"change" is given twice'],
    ['change=0:20', 'the rate of "change" must be above 0'],
    ['describe=0.0:20', 'the rate of "describe" must be above 0'],
    ['change=4:0', 'the burst of "change" must be at least 1'],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseApiLimits(text)).toThrow(new Error(message));
  });

  it('names the first bad part when several are bad', () => {
    expect(() => parseApiLimits('change=4:20,nope,other=1:1')).toThrow('"nope" is not CLASS=RATE:BURST');
  });
});

describe('formatApiLimits', () => {
  it('writes the defaults as --elb-api-limits takes them', () => {
    expect(formatApiLimits(DEFAULT_ELB_API_LIMITS)).toBe('change=4:20,describe=10:40');
  });

  it.each([
    DEFAULT_ELB_API_LIMITS,
    limits([20, 100], [50, 200]),
    limits([0.5, 1], [2.25, 3]),
    limits([1000, 5000], [0.1, 1]),
  ])('round trip: parse(format(%j)) gives the same limits', (given) => {
    expect(parseApiLimits(formatApiLimits(given))).toEqual(given);
  });

  it.each(['change=4:20,describe=10:40', 'change=20:100,describe=50:200', 'change=0.5:1,describe=2.25:3'])('round trip: format(parse(%j)) gives the same text', (text) => {
    expect(formatApiLimits(parseApiLimits(text))).toBe(text);
  });
});

describe('apiClassOf', () => {
  it.each([
    ['RegisterTargets', 'change'],
    ['DeregisterTargets', 'change'],
    ['DescribeTargetHealth', 'describe'],
    ['DescribeTargetGroups', 'describe'],
    ['DescribeLoadBalancers', 'describe'],
    // Only the exact change actions are changes: look-alikes draw from the read budget.
    ['registertargets', 'describe'],
    ['RegisterTargetsNow', 'describe'],
    ['BatchRegisterTargets', 'describe'],
  ])('%s draws from %s', (action, cls) => {
    expect(apiClassOf(action)).toBe(cls);
  });
});

describe('fleetReadWindowMs and driftRepairIntervalMs', () => {
  // Default limits: Describe refills 10/s, half of it for drift repair: 5 reads/s for the
  // fleet, so a window is 200 ms per host-group; the interval never drops below 60 s.
  it.each([
    // fleet size, groups, window (ms), interval (ms)
    [1, 1, 200, 60_000],
    [1, 3, 600, 60_000],
    [100, 1, 20_000, 60_000],
    [100, 3, 60_000, 60_000],
    [1_000, 1, 200_000, 200_000],
    [1_000, 3, 600_000, 600_000],
    [10_000, 1, 2_000_000, 2_000_000],
    [10_000, 3, 6_000_000, 6_000_000],
  ])('fleet %d x %d group(s): window %d ms, drift repair every %d ms', (fleetSize, groups, window, interval) => {
    const shape = { fleetSize, groups, limits: DEFAULT_ELB_API_LIMITS };
    expect(fleetReadWindowMs(shape)).toBe(window);
    expect(driftRepairIntervalMs(shape, MIN_INTERVAL_MS)).toBe(interval);
  });

  it('counts a host in no group yet as in one (it still reads once it joins)', () => {
    const shape = { fleetSize: 1_000, groups: 0, limits: DEFAULT_ELB_API_LIMITS };
    expect(fleetReadWindowMs(shape)).toBe(fleetReadWindowMs({ ...shape, groups: 1 }));
  });

  it('shrinks with raised limits: a Describe refill of 50/s reads five times as often', () => {
    const shape = { fleetSize: 10_000, groups: 3, limits: parseApiLimits('describe=50:200') };
    expect(driftRepairIntervalMs(shape, MIN_INTERVAL_MS)).toBe(1_200_000);
  });

  it('property: N hosts x G groups reading every drift-repair interval spend at most the drift-repair share of the Describe refill', () => {
    const fleets = [1, 7, 100, 333, 1_000, 4_999, 10_000, 50_000];
    const groupCounts = [1, 2, 3, 5, 17];
    const describeRates = [0.3, 1, 3, 10, 50];
    const over: string[] = [];
    for (const hosts of fleets) {
      for (const groups of groupCounts) {
        for (const rate of describeRates) {
          const intervalMs = driftRepairIntervalMs({ fleetSize: hosts, groups, limits: limits([4, 20], [rate, 40]) }, MIN_INTERVAL_MS);
          const fleetReadsPerSecond = (hosts * groups) / (intervalMs / 1000);
          if (fleetReadsPerSecond > rate * DRIFT_REPAIR_BUDGET_SHARE + 1e-9 || intervalMs < MIN_INTERVAL_MS) over.push(`${hosts}x${groups} at ${rate}/s: every ${intervalMs} ms`);
        }
      }
    }
    expect(over).toEqual([]);
  });
});

describe('fleetChangeWindowMs', () => {
  it.each([
    // fleet size, calls per host, window: every host's calls at 80% of 4/s
    [1, 2, 625],
    [100, 2, 62_500],
    [1_000, 6, 1_875_000],
    [10_000, 6, 18_750_000],
  ])('fleet %d, %d call(s) each: %d ms', (fleetSize, calls, ms) => {
    expect(fleetChangeWindowMs(fleetSize, calls, DEFAULT_ELB_API_LIMITS)).toBe(ms);
  });

  it('spreads a fleet-wide wave at FLEET_SPREAD_UTILISATION of the change refill', () => {
    const calls = 10_000 * 6;
    expect(calls / (fleetChangeWindowMs(10_000, 6, DEFAULT_ELB_API_LIMITS) / 1000)).toBeCloseTo(DEFAULT_ELB_API_LIMITS.change.perSecond * FLEET_SPREAD_UTILISATION, 6);
  });
});

describe('gateReadIntervalMs', () => {
  it.each([
    // fleet size, interval: every host reading one group at 40% of 10/s
    [1, 250],
    [100, 25_000],
    [1_000, 250_000],
    [10_000, 2_500_000],
  ])('fleet %d: %d ms', (fleetSize, ms) => {
    expect(gateReadIntervalMs(fleetSize, DEFAULT_ELB_API_LIMITS)).toBe(ms);
    // The whole fleet reading at that interval spends GATE_READ_BUDGET_SHARE of the refill.
    expect(fleetSize / (ms / 1000)).toBeCloseTo(DEFAULT_ELB_API_LIMITS.describe.perSecond * GATE_READ_BUDGET_SHARE, 6);
  });
});
