// How long a burst's changes wait for the ones right behind them (reconcile/coalesce.ts), as a table.
import { describe, expect, it } from 'vitest';
import { COALESCE, holdMs, startQuietMs, stopQuietMs, type HoldInput } from '../../agent/reconcile/coalesce.ts';

const T = 1_000_000;

describe('holdMs', () => {
  // [case, input, expected hold]
  it.each<[string, HoldInput, number]>([
    ['no burst: a lone change goes at once', { now: T, burstSince: undefined, heldSince: T, more: true }, 0],
    ['a burst with nothing more coming: at once', { now: T, burstSince: T - 5_000, heldSince: T, more: false }, 0],
    ['a burst just begun: the shortest hold', { now: T, burstSince: T, heldSince: T, more: true }, COALESCE.minHoldMs],
    ['a burst 2 s old: held three times as long as it has lasted', { now: T, burstSince: T - 2_000, heldSince: T, more: true }, 6_000],
    ['part of the hold already over', { now: T + 1_000, burstSince: T - 2_000, heldSince: T, more: true }, 5_000],
    ['the hold is over', { now: T + 6_000, burstSince: T - 2_000, heldSince: T, more: true }, 0],
    ['the host goes quiet before the hold ends: when it will be quiet', { now: T, burstSince: T - 2_000, heldSince: T, more: true, quietAt: T + 300 }, 300],
    ['the hold ends before the host is quiet: at the hold', { now: T, burstSince: T, heldSince: T, more: true, quietAt: T + 5_000 }, COALESCE.minHoldMs],
  ])('%s', (_case, input, expected) => {
    expect(holdMs(input)).toBe(expected);
  });

  it('keeps a burst to a few calls: each call waits three times the burst\'s age, so a 60 s burst takes at most 5', () => {
    // Changes arrive continuously from t=0 to t=60 s; each call sends everything held.
    const since = 0;
    let calls = 0;
    let heldSince = 0;
    for (let now = 0; now <= 60_000; now += 10) {
      if (holdMs({ now, burstSince: since, heldSince, more: now < 60_000 }) === 0) {
        calls++;
        heldSince = now + 10;
      }
    }
    expect(calls).toBeLessThanOrEqual(5);
  });
});

describe('startQuietMs', () => {
  it.each<[number, number]>([
    [0, 300],
    [2_000, 300],
    [6_000, 600],
    [20_000, 2_000],
    [60_000, 2_500],
  ])('a burst of starts %i ms old is over %i ms after its last start', (age, expected) => {
    expect(startQuietMs(age)).toBe(expected);
  });
});

describe('stopQuietMs', () => {
  it.each<[number, number]>([
    [0, 300],
    [2_000, 300],
    [5_000, 500],
    [10_000, 1_000],
    [60_000, 1_500],
  ])('a burst of stops %i ms old is over %i ms after its last stop event', (age, expected) => {
    expect(stopQuietMs(age)).toBe(expected);
  });
});
