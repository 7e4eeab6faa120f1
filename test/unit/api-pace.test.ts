// This host's pace of ELB calls: a lone host's full rate at first, halved per throttled call
// down to its fleet share, a throttled class held for a jittered share interval, and
// additive recovery as calls go through. Driven by a hand-moved clock.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';
import { ApiPace, PACE_RECOVERY_CALLS, PACE_SPARE_TOKENS } from '../../agent/fleet/api-pace.ts';
import { TokenBucket } from '../support/local-elbv2/token-bucket.ts';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};
const pace = (fleetSize: number, c = clock(), random = () => 0.5) => ({ c, p: new ApiPace({ limits: DEFAULT_ELB_API_LIMITS, fleetSize, now: c.now, random }) });

describe('ApiPace', () => {
  it('lets a burst of the account size (less the spare token) through at once, then spaces calls at the rate', () => {
    const { p } = pace(100);
    const waits = Array.from({ length: 22 }, () => p.reserve('change'));
    const atOnce = 20 - PACE_SPARE_TOKENS;
    expect(waits.slice(0, atOnce)).toEqual(Array(atOnce).fill(0));
    expect(waits.slice(atOnce)).toEqual([250, 500, 750].slice(0, 22 - atOnce));
  });

  it.each([
    // what the burst's calls take to reach ELB (ms), what the later lone calls take
    [1, 1],
    [30, 1],
    [200, 1],
    [1, 30],
  ])('calls leaving at the pace are never throttled by the account bucket when the burst travels %d ms and later calls %d ms', (burstMs, laterMs) => {
    const c = clock();
    const p = new ApiPace({ limits: DEFAULT_ELB_API_LIMITS, fleetSize: 1, now: c.now, random: () => 0.5 });
    const sends: number[] = [];
    while (sends.length < 40) {
      const wait = p.delayMs('change');
      if (wait > 0) c.advance(wait);
      else sends.push(c.now() + (p.reserve('change'), 0));
    }
    // The bucket ELB keeps for the account, refilled from the moment each call arrives.
    const arrivals = sends.map((at, i) => at + (i < 20 ? burstMs : laterMs)).sort((a, b) => a - b);
    let t = 0;
    const bucket = new TokenBucket({ ratePerSecond: 4, burst: 20 }, () => t);
    t = arrivals[0]!;
    bucket.available();
    const throttled = arrivals.filter((at) => ((t = at), !bucket.tryTake()));
    expect(throttled).toEqual([]);
  });

  it('keeps the classes apart: spending changes leaves reads alone', () => {
    const { p } = pace(100);
    for (let i = 0; i < 25; i++) p.reserve('change');
    expect(p.delayMs('change')).toBeGreaterThan(0);
    expect(p.delayMs('describe')).toBe(0);
  });

  it.each([
    // fleet size, throttles in a row, expected rate (calls/s) of the change class
    [1, 1, 4],
    [100, 1, 2],
    [100, 2, 1],
    [100, 10, 0.04],
    [10_000, 20, 0.0004],
  ])('fleet %d, %d throttled call(s): rate %d/s (halved each time, never below the share)', (fleetSize, throttles, rate) => {
    const { p } = pace(fleetSize);
    for (let i = 0; i < throttles; i++) p.outcome('change', 'throttled');
    expect(p.rates().change).toBeCloseTo(rate, 6);
    expect(p.shares().change).toBeCloseTo(4 / fleetSize, 9);
  });

  it.each([
    // fleet size, dice, hold in ms: one share interval (fleet / 4 per s) times 0.5 + dice
    [1, 0.5, 250],
    [100, 0, 12_500],
    [100, 0.5, 25_000],
    [100, 1, 37_500],
    [10_000, 0.5, 2_500_000],
  ])('fleet %d: after a throttle (dice %d) the class waits %d ms, never retrying faster than its share', (fleetSize, dice, hold) => {
    const { c, p } = pace(fleetSize, clock(), () => dice);
    p.outcome('change', 'throttled');
    expect(p.delayMs('change')).toBe(hold);
    c.advance(hold - 1);
    expect(p.delayMs('change')).toBeGreaterThan(0);
    c.advance(1);
    // The bucket refilled during the hold: a call may go.
    expect(p.delayMs('change')).toBe(0);
  });

  it('recovers additively: calls that go through bring the rate back to the full rate', () => {
    const { p } = pace(100);
    for (let i = 0; i < 10; i++) p.outcome('change', 'throttled');
    const low = p.rates().change;
    p.outcome('change', 'ok');
    const step = p.rates().change - low;
    expect(step).toBeCloseTo((4 - 0.04) / PACE_RECOVERY_CALLS, 6);
    for (let i = 0; i < PACE_RECOVERY_CALLS; i++) p.outcome('change', 'ok');
    expect(p.rates().change).toBe(4);
  });

  it('a failure that is not throttling neither slows nor speeds the pace', () => {
    const { p } = pace(100);
    p.outcome('describe', 'throttled');
    const before = p.rates().describe;
    p.outcome('describe', 'failed');
    expect(p.rates().describe).toBe(before);
  });
});
