// The shared token bucket that stands in for ELBv2's per-account API rate limit.
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../support/local-elbv2/token-bucket.ts';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('TokenBucket', () => {
  it('starts full, allows a burst, then refuses', () => {
    const time = clock();
    const bucket = new TokenBucket({ ratePerSecond: 4, burst: 3 }, time.now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
  });

  it('refills continuously at the rate, never above the burst', () => {
    const time = clock();
    const bucket = new TokenBucket({ ratePerSecond: 4, burst: 3 }, time.now);
    for (let i = 0; i < 3; i++) bucket.tryTake();
    time.advance(200); // 0.8 token
    expect(bucket.tryTake()).toBe(false);
    time.advance(50); // 0.8 + 0.2 = 1 token
    expect(bucket.tryTake()).toBe(true);
    time.advance(60_000);
    expect(bucket.available()).toBe(3);
  });

  it('does not let a clock going backwards mint tokens', () => {
    const time = clock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1 }, time.now);
    bucket.tryTake();
    time.advance(-5_000);
    expect(bucket.tryTake()).toBe(false);
  });

  it('refuses nonsense settings', () => {
    expect(() => new TokenBucket({ ratePerSecond: -1, burst: 1 })).toThrow(/invalid throttle/);
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow(/invalid throttle/);
  });
});
