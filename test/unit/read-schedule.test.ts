// When each group is next read: the first read at a random point of the fleet's read window,
// later ones one interval (+-READ_JITTER) after the last, readSoon bringing one forward.
// Driven by a hand-moved clock and scripted dice.
import { describe, expect, it } from 'vitest';
import { READ_JITTER, ReadSchedule } from '../../agent/fleet/read-schedule.ts';

const T0 = 1_700_000_000_000;

function schedule(dice: number[] | number = 0.5) {
  let t = T0;
  const rolls = Array.isArray(dice) ? [...dice] : undefined;
  const random = () => (rolls ? (rolls.shift() ?? 0.5) : (dice as number));
  const s = new ReadSchedule({ now: () => t, random });
  return { s, advance: (ms: number) => (t += ms), at: (ms: number) => (t = T0 + ms) };
}

describe('ReadSchedule: the first read', () => {
  it.each([
    // dice, first read after (ms) in a window of 10 s
    [0, 0],
    [0.25, 2_500],
    [0.5, 5_000],
    [0.9999, 9_999],
  ])('dice %d: the first read falls %d ms into the window', (dice, atMs) => {
    const { s, at } = schedule(dice);
    expect(s.due(['tg-a'], 10_000)).toEqual(atMs === 0 ? ['tg-a'] : []);
    if (atMs > 0) {
      at(atMs - 1);
      expect(s.due(['tg-a'], 10_000)).toEqual([]);
    }
    at(atMs);
    expect(s.due(['tg-a'], 10_000)).toEqual(['tg-a']);
  });

  it('never falls outside the window, whatever the dice', () => {
    for (const dice of [0, 0.1, 0.5, 0.999_999_9]) {
      const { s } = schedule(dice);
      s.due(['tg-a'], 60_000);
      const inMs = s.nextInMs(['tg-a']) as number;
      expect(inMs).toBeGreaterThanOrEqual(0);
      expect(inMs).toBeLessThan(60_000);
    }
  });

  it('rolls once per group, when the group is first seen, and does not move it when asked again', () => {
    const { s, advance } = schedule([0.2, 0.6, 0.0]);
    expect(s.due(['tg-a', 'tg-b'], 10_000)).toEqual([]);
    expect(s.nextInMs(['tg-a'])).toBe(2_000);
    expect(s.nextInMs(['tg-b'])).toBe(6_000);
    advance(1_000);
    // A later pass with a larger window (more groups) does not reschedule known groups.
    expect(s.due(['tg-a', 'tg-b'], 100_000)).toEqual([]);
    expect(s.nextInMs(['tg-a'])).toBe(1_000);
    // A group seen later is placed from its own first sighting.
    expect(s.due(['tg-a', 'tg-b', 'tg-c'], 10_000)).toEqual(['tg-c']);
  });

  it('stays due until it is read', () => {
    const { s, advance } = schedule(0);
    expect(s.due(['tg-a'], 10_000)).toEqual(['tg-a']);
    advance(5_000);
    expect(s.due(['tg-a'], 10_000)).toEqual(['tg-a']);
    s.read('tg-a', 60_000);
    expect(s.due(['tg-a'], 10_000)).toEqual([]);
  });

  it('answers only for the groups asked about', () => {
    const { s } = schedule(0);
    s.due(['tg-a', 'tg-b'], 10_000);
    s.read('tg-b', 60_000);
    expect(s.due(['tg-b'], 10_000)).toEqual([]);
    expect(s.due(['tg-a'], 10_000)).toEqual(['tg-a']);
  });
});

describe('ReadSchedule: later reads', () => {
  it.each([
    // dice, next read after an interval of 100 s: 90 s to 110 s
    [0, 90_000],
    [0.25, 95_000],
    [0.5, 100_000],
    [1, 110_000],
  ])('dice %d: the next read is %d ms after the last', (dice, inMs) => {
    // The first roll places the first read at once; the second jitters the next one.
    const { s, advance } = schedule([0, dice]);
    expect(s.due(['tg-a'], 1_000)).toEqual(['tg-a']);
    s.read('tg-a', 100_000);
    expect(s.nextInMs(['tg-a'])).toBe(inMs);
    advance(inMs - 1);
    expect(s.due(['tg-a'], 1_000)).toEqual([]);
    advance(1);
    expect(s.due(['tg-a'], 1_000)).toEqual(['tg-a']);
  });

  it(`keeps every later read within +-${READ_JITTER * 100}% of the interval`, () => {
    const interval = 2_000_000;
    const dice = Array.from({ length: 101 }, (_, i) => i / 100);
    const { s, advance } = schedule(dice);
    const gaps: number[] = [];
    s.due(['tg-a'], 1);
    for (let i = 0; i < 100; i++) {
      s.read('tg-a', interval);
      const gap = s.nextInMs(['tg-a']) as number;
      gaps.push(gap);
      advance(gap);
    }
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(interval * (1 - READ_JITTER));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(interval * (1 + READ_JITTER));
    // The dice spread them: hosts that read together once drift apart.
    expect(new Set(gaps).size).toBeGreaterThan(50);
  });
});

describe('ReadSchedule: readSoon', () => {
  it('brings a scheduled read forward to now', () => {
    const { s } = schedule(0.5);
    s.due(['tg-a'], 1_000_000);
    expect(s.due(['tg-a'], 1_000_000)).toEqual([]);
    s.readSoon('tg-a');
    expect(s.due(['tg-a'], 1_000_000)).toEqual(['tg-a']);
    expect(s.nextInMs(['tg-a'])).toBe(0);
  });

  it('makes a group never seen due now (no roll in the window)', () => {
    const { s } = schedule(0.9);
    s.readSoon('tg-new');
    expect(s.due(['tg-new'], 1_000_000)).toEqual(['tg-new']);
  });

  it('never pushes an overdue read later', () => {
    const { s, advance } = schedule(0);
    s.due(['tg-a'], 1_000);
    advance(30_000);
    s.readSoon('tg-a');
    expect(s.due(['tg-a'], 1_000)).toEqual(['tg-a']);
    expect(s.nextInMs(['tg-a'])).toBe(0);
  });

  it('does not keep a group due after it was read', () => {
    const { s } = schedule(0.5);
    s.readSoon('tg-a');
    s.read('tg-a', 60_000);
    expect(s.due(['tg-a'], 1_000)).toEqual([]);
    expect(s.nextInMs(['tg-a'])).toBe(60_000);
  });
});

describe('ReadSchedule: nextInMs', () => {
  it('is undefined when none of the groups is scheduled', () => {
    const { s } = schedule();
    expect(s.nextInMs([])).toBeUndefined();
    expect(s.nextInMs(['tg-a'])).toBeUndefined();
    s.due(['tg-b'], 1_000);
    expect(s.nextInMs(['tg-a'])).toBeUndefined();
  });

  it('is the time until the soonest of the groups asked about', () => {
    const { s, advance } = schedule([0.3, 0.1, 0.7]);
    s.due(['tg-a', 'tg-b', 'tg-c'], 10_000);
    expect(s.nextInMs(['tg-a', 'tg-b', 'tg-c'])).toBe(1_000);
    expect(s.nextInMs(['tg-a', 'tg-c'])).toBe(3_000);
    advance(2_000);
    expect(s.nextInMs(['tg-a', 'tg-c'])).toBe(1_000);
  });

  it('is 0, not negative, when a read is overdue', () => {
    const { s, advance } = schedule(0.5);
    s.due(['tg-a'], 1_000);
    advance(10_000);
    expect(s.nextInMs(['tg-a'])).toBe(0);
  });
});
