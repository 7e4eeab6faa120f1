// The bench's arithmetic (scripts/bench/stats.ts): nearest-rank percentiles, summaries and the
// agent-over-probe ratios its goals are judged by.
import { describe, expect, it } from 'vitest';
import { percentile, ratio, ratios, refusedByBucket, summary } from '../../scripts/bench/stats.ts';

describe('percentile (nearest rank)', () => {
  const ten = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
  it.each([
    { values: ten, p: 50, expected: 5 },
    { values: ten, p: 90, expected: 9 },
    { values: ten, p: 99, expected: 10 },
    { values: ten, p: 100, expected: 10 },
    { values: ten, p: 1, expected: 1 },
    { values: [42], p: 99, expected: 42 },
  ])('p$p of $values.length values is $expected', ({ values, p, expected }) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('is NaN with no values, and leaves its input unsorted', () => {
    expect(percentile([], 50)).toBeNaN();
    const input = [3, 1, 2];
    percentile(input, 50);
    expect(input).toEqual([3, 1, 2]);
  });
});

describe('summary', () => {
  it('rounds to two decimals', () => {
    expect(summary([1.004, 2.256, 3.5])).toEqual({ n: 3, p50: 2.26, p90: 3.5, p99: 3.5, max: 3.5 });
  });

  it('keeps the digits a ratio needs: 5.44 over 3.64 ms is 1.49x, not the 1.5x of 5.4 over 3.6', () => {
    expect(ratios(summary([5.44]), summary([3.64]), { p50: 1.5, p99: 2 })).toEqual({ p50: 1.49, p99: 1.49, met: true });
  });
});

describe('ratios to the probe', () => {
  const probe = summary([4, 4, 4, 10]);
  it.each([
    { agent: [6, 6, 6, 20], expected: { p50: 1.5, p99: 2, met: true } },
    { agent: [7, 7, 7, 20], expected: { p50: 1.75, p99: 2, met: false } },
    { agent: [5, 5, 5, 25], expected: { p50: 1.25, p99: 2.5, met: false } },
  ])('agent $agent against probe p50 4 / p99 10: $expected', ({ agent, expected }) => {
    expect(ratios(summary(agent), probe, { p50: 1.5, p99: 2 })).toEqual(expected);
  });

  it('a probe at 0 ms counts as 0.1 ms (no division by zero)', () => {
    expect(ratio(1, 0)).toBe(10);
  });
});

describe('refusedByBucket (calls replayed through a token bucket that starts full)', () => {
  const at = (...s: number[]) => s.map((x) => x * 1000);
  it.each<[string, number[], number, number, number]>([
    ['no calls', [], 4, 20, 0],
    ['the burst, all at once', Array.from({ length: 20 }, () => 0), 4, 20, 0],
    ['one past the burst at once', Array.from({ length: 21 }, () => 0), 4, 20, 1],
    ['the burst, then one a quarter second later: refilled', [...Array.from({ length: 20 }, () => 0), 250], 4, 20, 0],
    ['the burst, then two a quarter second later: one refused', [...Array.from({ length: 20 }, () => 0), 250, 250], 4, 20, 1],
    ['at the refill rate for a minute, with a bucket of one', at(...Array.from({ length: 60 }, (_, i) => i)), 1, 1, 0],
    ['twice the refill rate, bucket of one: every other one refused', Array.from({ length: 10 }, (_, i) => i * 500), 1, 1, 5],
  ])('%s', (_name, times, perSecond, burst, refused) => {
    expect(refusedByBucket(times, perSecond, burst)).toBe(refused);
  });
});
