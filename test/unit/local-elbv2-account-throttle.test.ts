// ELBv2's per-account throttling as the local endpoint models it: one token bucket per API
// class (describe / change / other), each on an injectable clock.
import { describe, expect, it } from 'vitest';
import { API_CLASSES, AccountThrottle, ThrottleCounter, apiClassOf, takeFromAll } from '../support/local-elbv2/account-throttle.ts';
import type { AccountThrottleSettings, ApiClass } from '../support/local-elbv2/account-throttle.ts';
import { IMPLEMENTED_ACTIONS } from '../support/local-elbv2/elbv2-actions.ts';
import { TokenBucket } from '../support/local-elbv2/token-bucket.ts';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** An action of each class, for tables over classes. */
const ACTION_OF: Record<ApiClass, string> = {
  describe: 'DescribeTargetHealth',
  change: 'RegisterTargets',
  other: 'ModifyTargetGroupAttributes',
};

const TWO_EACH: AccountThrottleSettings = {
  describe: { ratePerSecond: 1, burst: 2 },
  change: { ratePerSecond: 1, burst: 2 },
  other: { ratePerSecond: 1, burst: 2 },
};

/** Takes until refused (at most 1000 times); returns how many went through. */
function drain(throttle: AccountThrottle, action: string): number {
  let taken = 0;
  while (taken < 1000 && throttle.tryTake(action)) taken++;
  return taken;
}

describe('apiClassOf', () => {
  it.each<[string, ApiClass]>([
    ['DescribeTargetHealth', 'describe'],
    ['DescribeTargetGroups', 'describe'],
    ['DescribeTargetGroupAttributes', 'describe'],
    ['DescribeLoadBalancers', 'describe'],
    ['DescribeTags', 'describe'],
    ['DescribeAccountLimits', 'describe'],
    ['RegisterTargets', 'change'],
    ['DeregisterTargets', 'change'],
    ['CreateTargetGroup', 'other'],
    ['ModifyTargetGroupAttributes', 'other'],
    ['ModifyTargetGroup', 'other'],
    ['DeleteTargetGroup', 'other'],
    ['AddTags', 'other'],
    ['', 'other'],
    ['describeTargetHealth', 'other'], // action names are case-sensitive
    ['registerTargets', 'other'],
    ['RegisterTargetsX', 'other'],
  ])('%j is %s', (action, expected) => {
    expect(apiClassOf(action)).toBe(expected);
  });

  it('puts every implemented action in the class its name says', () => {
    expect(Object.fromEntries(IMPLEMENTED_ACTIONS.map((action) => [action, apiClassOf(action)]))).toEqual({
      CreateTargetGroup: 'other',
      DescribeTargetGroups: 'describe',
      DescribeTargetGroupAttributes: 'describe',
      ModifyTargetGroupAttributes: 'other',
      RegisterTargets: 'change',
      DeregisterTargets: 'change',
      DescribeTargetHealth: 'describe',
      DescribeLoadBalancers: 'describe',
    });
  });
});

describe('AccountThrottle', () => {
  it.each(API_CLASSES)('exhausting %s leaves the other classes untouched', (exhausted) => {
    const throttle = new AccountThrottle(TWO_EACH, clock().now);
    expect(drain(throttle, ACTION_OF[exhausted])).toBe(2);
    expect(throttle.tryTake(ACTION_OF[exhausted])).toBe(false);
    for (const other of API_CLASSES.filter((c) => c !== exhausted)) {
      expect(throttle.bucket(other)?.available()).toBe(2);
      expect(throttle.tryTake(ACTION_OF[other])).toBe(true);
    }
  });

  it.each<[string, string, boolean]>([
    // [first drained, then tried, passes]: actions of one class share its bucket
    ['RegisterTargets', 'DeregisterTargets', false],
    ['DescribeTargetHealth', 'DescribeTargetGroups', false],
    ['CreateTargetGroup', 'ModifyTargetGroupAttributes', false],
    ['RegisterTargets', 'DescribeTargetHealth', true],
    ['DeregisterTargets', 'ModifyTargetGroupAttributes', true],
    ['DescribeTargetGroups', 'RegisterTargets', true],
  ])('after draining with %s, %s passes: %s', (drained, tried, passes) => {
    const throttle = new AccountThrottle(TWO_EACH, clock().now);
    drain(throttle, drained);
    expect(throttle.tryTake(tried)).toBe(passes);
  });

  it.each<[string, AccountThrottleSettings, Record<ApiClass, number>]>([
    // [case, settings, calls let through back to back per class (1000 = not throttled)]
    ['only change', { change: { ratePerSecond: 4, burst: 20 } }, { describe: 1000, change: 20, other: 1000 }],
    ['only describe', { describe: { ratePerSecond: 10, burst: 40 } }, { describe: 40, change: 1000, other: 1000 }],
    [
      'the AWS Load Balancer Controller numbers',
      { describe: { ratePerSecond: 50, burst: 200 }, change: { ratePerSecond: 4, burst: 20 } },
      { describe: 200, change: 20, other: 1000 },
    ],
    ['nothing', {}, { describe: 1000, change: 1000, other: 1000 }],
  ])('%s: absent classes are not throttled', (_case, settings, burst) => {
    const throttle = new AccountThrottle(settings, clock().now);
    expect(Object.fromEntries(API_CLASSES.map((c) => [c, drain(throttle, ACTION_OF[c])]))).toEqual(burst);
  });

  it.each<[ApiClass, number, number, number, boolean]>([
    // [class, rate/s, burst, ms after draining, next call passes]
    ['change', 4, 20, 200, false], // 0.8 token
    ['change', 4, 20, 250, true], // 1 token
    ['describe', 10, 40, 99, false],
    ['describe', 10, 40, 100, true],
    ['other', 1, 2, 999, false],
    ['other', 1, 2, 1000, true],
  ])('%s at %d/s (burst %d): %d ms after draining, a call passes: %s', (apiClass, ratePerSecond, burst, ms, passes) => {
    const time = clock();
    const throttle = new AccountThrottle({ [apiClass]: { ratePerSecond, burst } }, time.now);
    expect(drain(throttle, ACTION_OF[apiClass])).toBe(burst);
    time.advance(ms);
    expect(throttle.tryTake(ACTION_OF[apiClass])).toBe(passes);
  });

  it('refills each class at its own rate, never above its burst', () => {
    const time = clock();
    const throttle = new AccountThrottle({ describe: { ratePerSecond: 10, burst: 40 }, change: { ratePerSecond: 4, burst: 20 } }, time.now);
    drain(throttle, 'DescribeTargetHealth');
    drain(throttle, 'RegisterTargets');
    time.advance(1_000);
    expect([throttle.bucket('describe')?.available(), throttle.bucket('change')?.available()]).toEqual([10, 4]);
    time.advance(60_000);
    expect([throttle.bucket('describe')?.available(), throttle.bucket('change')?.available()]).toEqual([40, 20]);
  });

  it('refuses nonsense settings for any class', () => {
    expect(() => new AccountThrottle({ change: { ratePerSecond: 1, burst: 0 } })).toThrow(/invalid throttle/);
    expect(() => new AccountThrottle({ other: { ratePerSecond: -1, burst: 1 } })).toThrow(/invalid throttle/);
  });
});

describe('takeFromAll', () => {
  it.each<[string, number, number, boolean, number, number]>([
    // [case, tokens in A, tokens in B, passes, A after, B after]
    ['both have tokens', 2, 2, true, 1, 1],
    ['A is empty', 0, 2, false, 0, 2],
    ['B is empty', 2, 0, false, 2, 0],
    ['both are empty', 0, 0, false, 0, 0],
  ])('%s: passes %s; a refusal spends nothing', (_case, a, b, passes, aAfter, bAfter) => {
    const time = clock();
    const bucketA = new TokenBucket({ ratePerSecond: 0, burst: 2 }, time.now);
    const bucketB = new TokenBucket({ ratePerSecond: 0, burst: 2 }, time.now);
    for (let i = a; i < 2; i++) bucketA.tryTake();
    for (let i = b; i < 2; i++) bucketB.tryTake();
    expect(takeFromAll([bucketA, undefined, bucketB])).toBe(passes);
    expect([bucketA.available(), bucketB.available()]).toEqual([aAfter, bAfter]);
  });

  it('lets everything through when no bucket applies', () => {
    expect(takeFromAll([])).toBe(true);
    expect(takeFromAll([undefined, undefined])).toBe(true);
  });
});

describe('ThrottleCounter', () => {
  it('counts allowed and throttled requests per class, and resets', () => {
    const counter = new ThrottleCounter();
    counter.record('DescribeTargetHealth', true);
    counter.record('DescribeTargetGroups', true);
    counter.record('RegisterTargets', true);
    counter.record('DeregisterTargets', false);
    counter.record('CreateTargetGroup', false);
    const stats = counter.stats();
    expect(stats).toEqual({
      describe: { allowed: 2, throttled: 0 },
      change: { allowed: 1, throttled: 1 },
      other: { allowed: 0, throttled: 1 },
    });
    counter.reset();
    expect(counter.stats()).toEqual({
      describe: { allowed: 0, throttled: 0 },
      change: { allowed: 0, throttled: 0 },
      other: { allowed: 0, throttled: 0 },
    });
    expect(stats.change).toEqual({ allowed: 1, throttled: 1 }); // a snapshot, not a live view
  });
});
