/**
 * A token bucket like the one ELBv2 keeps per account and region: every caller spends from
 * the same budget, which refills continuously at `ratePerSecond` up to `burst` tokens.
 */

/** Rate and capacity of a token bucket. */
export interface ThrottleSettings {
  /** Tokens added per second (may be fractional). */
  readonly ratePerSecond: number;
  /** Bucket capacity: how many calls may go through back to back after a quiet spell. */
  readonly burst: number;
}

/** A continuously refilled token bucket; starts full. The clock is injectable for tests. */
export class TokenBucket {
  private tokens: number;
  private lastRefill: number;

  constructor(
    readonly settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
  ) {
    if (!(settings.ratePerSecond >= 0) || !(settings.burst >= 1)) {
      throw new Error(`invalid throttle settings: rate ${settings.ratePerSecond}/s, burst ${settings.burst}`);
    }
    this.tokens = settings.burst;
    this.lastRefill = now();
  }

  /** Takes one token if there is one; false means "throttle this call". */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens available right now (after refilling), for tests and diagnostics. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.now();
    const elapsedSeconds = Math.max(0, now - this.lastRefill) / 1000;
    this.tokens = Math.min(this.settings.burst, this.tokens + elapsedSeconds * this.settings.ratePerSecond);
    this.lastRefill = now;
  }
}
