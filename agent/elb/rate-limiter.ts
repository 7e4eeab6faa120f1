/**
 * Client-side rate limits for ELBv2 calls. The API's limits are token buckets per account
 * and region, shared by every host of a fleet; one agent should never spend the budget in
 * a burst. Like the AWS Load Balancer Controller, callers wait for a token instead of
 * being refused, so a large change goes out at a steady pace rather than into throttling.
 */

/** A rate and a burst. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * Register/Deregister as the AWS Load Balancer Controller limits itself; Describe* at the
 * ELB guide's lower figure (a bucket of 40 refilled at 10/s) rather than the controller's 50/s.
 */
export const DEFAULT_ELB_RATE_LIMITS: Readonly<Record<'change' | 'describe', RateLimit>> = {
  change: { perSecond: 4, burst: 20 },
  describe: { perSecond: 10, burst: 40 },
};

/**
 * A token bucket that hands out reservations: a caller that finds it empty goes into debt
 * and is told how long to wait, so waiters are served in arrival order without a queue.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new Error(`invalid rate limit ${limit.perSecond}/s burst ${limit.burst}`);
    this.tokens = limit.burst;
    this.last = this.now();
  }

  /** Takes a token; returns how many ms the caller must wait before using it (0 = now). */
  reserve(): number {
    const t = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) * this.limit.perSecond) / 1000);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.limit.perSecond);
  }

  /** Resolves once the caller may go. */
  async take(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** One bucket for changes (Register/Deregister), one for everything else (Describe*). */
export class ElbRateLimiter {
  private readonly change: TokenBucket;
  private readonly describe: TokenBucket;

  constructor(limits: Readonly<Record<'change' | 'describe', RateLimit>> = DEFAULT_ELB_RATE_LIMITS, now?: () => number) {
    this.change = new TokenBucket(limits.change, now);
    this.describe = new TokenBucket(limits.describe, now);
  }

  /** The bucket an action draws from. */
  bucketFor(action: string): TokenBucket {
    return /^(Register|Deregister)/.test(action) ? this.change : this.describe;
  }

  /** Waits for a token for one request of `action`. */
  take(action: string): Promise<void> {
    return this.bucketFor(action).take();
  }
}
