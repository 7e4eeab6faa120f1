// Client-side rate limits for ELBv2 calls: a burst goes out at once, the rest at the
// refill rate, waiters in arrival order, and changes and describes draw from separate buckets.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ELB_RATE_LIMITS, ElbRateLimiter, TokenBucket } from '../../agent/elb/rate-limiter.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** A clock the test moves by hand. */
const manualClock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

describe('TokenBucket.reserve', () => {
  it('lets a full burst through, then spaces callers at the refill rate', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 4, burst: 20 }, clock.now);
    const waits = Array.from({ length: 24 }, () => bucket.reserve());
    expect(waits.slice(0, 20)).toEqual(Array(20).fill(0));
    expect(waits.slice(20)).toEqual([250, 500, 750, 1000]);
  });

  it('refills with time, never beyond the burst', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 10, burst: 40 }, clock.now);
    for (let i = 0; i < 40; i++) bucket.reserve();
    clock.advance(500); // 5 tokens back
    expect(Array.from({ length: 6 }, () => bucket.reserve())).toEqual([0, 0, 0, 0, 0, 100]);
    clock.advance(3_600_000); // an hour idle: still only a burst's worth
    const waits = Array.from({ length: 41 }, () => bucket.reserve());
    expect(waits.filter((w) => w === 0)).toHaveLength(40);
    expect(waits[40]).toBe(100);
  });

  it('keeps a steady pace over a long run: N calls take (N - burst) / rate seconds', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 4, burst: 20 }, clock.now);
    const waits = Array.from({ length: 420 }, () => bucket.reserve());
    expect(Math.max(...waits)).toBe(100_000);
  });

  it.each([
    [{ perSecond: 0, burst: 10 }],
    [{ perSecond: 5, burst: 0 }],
    [{ perSecond: Number.NaN, burst: 1 }],
  ])('refuses a limit that would never let anything through: %j', (limit) => {
    expect(() => new TokenBucket(limit)).toThrow(/invalid rate limit/);
  });
});

describe('TokenBucket.take', () => {
  it('resolves callers in arrival order, each after its wait', async () => {
    vi.useFakeTimers();
    const bucket = new TokenBucket({ perSecond: 2, burst: 1 });
    const done: number[] = [];
    const started = Date.now();
    const all = [1, 2, 3].map((n) => bucket.take().then(() => done.push(n)));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual([1]);
    await vi.advanceTimersByTimeAsync(500);
    expect(done).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(500);
    expect(done).toEqual([1, 2, 3]);
    await Promise.all(all);
    expect(Date.now() - started).toBe(1000);
  });
});

describe('ElbRateLimiter', () => {
  it('plans for the lower published figures: changes 4/s burst 20, describes 10/s burst 40', () => {
    expect(DEFAULT_ELB_RATE_LIMITS).toEqual({ change: { perSecond: 4, burst: 20 }, describe: { perSecond: 10, burst: 40 } });
  });

  it('draws changes and describes from separate buckets', () => {
    const clock = manualClock();
    const limiter = new ElbRateLimiter({ change: { perSecond: 1, burst: 1 }, describe: { perSecond: 1, burst: 2 } }, clock.now);
    expect(limiter.bucketFor('RegisterTargets')).toBe(limiter.bucketFor('DeregisterTargets'));
    expect(limiter.bucketFor('DescribeTargetHealth')).toBe(limiter.bucketFor('DescribeTargetGroups'));
    expect(limiter.bucketFor('RegisterTargets')).not.toBe(limiter.bucketFor('DescribeTargetHealth'));
    expect(limiter.bucketFor('RegisterTargets').reserve()).toBe(0);
    expect(limiter.bucketFor('DeregisterTargets').reserve()).toBe(1000);
    // A throttled change does not hold back reads.
    expect(limiter.bucketFor('DescribeTargetHealth').reserve()).toBe(0);
    expect(limiter.bucketFor('DescribeTargetHealth').reserve()).toBe(0);
  });
});
