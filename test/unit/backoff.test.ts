// Backoff with full jitter: bounded by the cap, doubling in expectation, never zero.
import { describe, expect, it } from 'vitest';
import { backoffDelay, jittered } from '../../agent/core/backoff.ts';

/** random() values spread evenly over [0, 1): a deterministic stand-in for Math.random. */
const GRID = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
const EDGES = [0, 1e-9, 0.25, 0.5, 0.999999, 1];

/** The mean delay of one attempt over the grid. */
const meanDelay = (attempt: number, baseMs: number, capMs: number) =>
  GRID.reduce((sum, r) => sum + backoffDelay(attempt, baseMs, capMs, () => r), 0) / GRID.length;

describe('backoffDelay', () => {
  it.each([
    [0, 100],
    [1, 200],
    [2, 400],
    [3, 800],
    [4, 1600],
    [5, 3200],
    [6, 5000],
    [10, 5000],
    [31, 5000],
    [1000, 5000],
  ])('attempt %d with random() = 1 waits the whole window: %d ms (base 100, cap 5000)', (attempt, ms) => {
    expect(backoffDelay(attempt, 100, 5000, () => 1)).toBe(ms);
  });

  it.each([
    [100, 5000, 50],
    [1000, 30_000, 500],
    [500, 15_000, 250],
    [1, 10, 0.5],
    [5000, 1000, 500], // a base above the cap: half the cap
  ])('with random() = 0 it still waits: base %d cap %d -> %d ms at every attempt', (base, cap, floor) => {
    for (const attempt of [0, 1, 5, 30, 100]) expect(backoffDelay(attempt, base, cap, () => 0)).toBe(floor);
  });

  it.each([
    [100, 5000],
    [1000, 30_000],
    [500, 15_000],
    [7, 1000],
    [5000, 1000],
  ])('stays within [min(base, cap) / 2, cap] for base %d cap %d', (base, cap) => {
    for (let attempt = 0; attempt <= 40; attempt++) {
      for (const r of [...EDGES, ...GRID.filter((_, i) => i % 50 === 0)]) {
        const delay = backoffDelay(attempt, base, cap, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.min(base, cap) / 2);
        expect(delay).toBeLessThanOrEqual(cap);
      }
    }
  });

  it('stays within its bounds with the real Math.random', () => {
    for (let i = 0; i < 2000; i++) {
      const delay = backoffDelay(i % 40, 1000, 30_000);
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(30_000);
    }
  });

  it('grows exponentially in expectation until the cap, then levels off at half the cap', () => {
    const base = 100;
    const cap = 1_000_000;
    const means = Array.from({ length: 16 }, (_, attempt) => meanDelay(attempt, base, cap));
    // below the cap: full jitter averages half the window, base * 2^n / 2 (the floor adds a little early on)
    for (let n = 2; n <= 13; n++) {
      const expected = (base * 2 ** n) / 2;
      expect(Math.abs((means[n] as number) - expected) / expected, `attempt ${n}`).toBeLessThan(0.03);
    }
    for (let n = 2; n <= 13; n++) {
      const ratio = (means[n] as number) / (means[n - 1] as number);
      expect(ratio, `attempt ${n} over ${n - 1}`).toBeGreaterThan(1.8);
      expect(ratio, `attempt ${n} over ${n - 1}`).toBeLessThan(2.1);
    }
    // from attempt 14 on the window is the cap: the mean stays at about cap / 2
    expect(Math.abs((means[14] as number) - cap / 2)).toBeLessThan(cap * 0.01);
    expect(Math.abs((means[15] as number) - cap / 2)).toBeLessThan(cap * 0.01);
  });

  it('spreads retries over the window (full jitter, not a fixed delay)', () => {
    const delays = new Set(GRID.map((r) => backoffDelay(6, 100, 30_000, () => r)));
    expect(delays.size).toBeGreaterThan(500);
  });
});

describe('jittered (the one jitter formula: loop periods, drift-repair and gate reads)', () => {
  it.each<[number, number, number, number]>([
    [1000, 0.1, 0, 900],
    [1000, 0.1, 0.5, 1000],
    [1000, 0.1, 0.999, 1100],
    [60_000, 0.1, 0.25, 57_000],
    [333, 0, 0.9, 333],
  ])('%i ms +-%d with random() = %d is %i ms', (ms, fraction, r, expected) => {
    expect(jittered(ms, fraction, () => r)).toBe(expected);
  });
});
