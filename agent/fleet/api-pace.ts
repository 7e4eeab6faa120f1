/**
 * This host's pace of ELB calls, per API class: a token bucket whose rate follows the
 * account's congestion (AIMD). A host starts at the account's full rate (alone it may use it
 * all); each throttled call halves its rate, down to its fair share of the fleet's budget
 * (the account's rate / --fleet-size), and holds the class for one share interval, jittered,
 * so a throttled call is never retried faster than the share; each call that goes through
 * adds back a step. Pure: the clock and the dice are injected, nothing sleeps but `take`.
 */
import { API_CLASSES, type ApiClass, type ApiLimits, type RateLimit } from './api-budget.ts';

/** Multiplicative decrease: the rate kept after a throttled call. */
export const PACE_DECREASE = 0.5;
/** Additive increase: calls that go through bring a throttled host back to the full rate in about this many steps. */
export const PACE_RECOVERY_CALLS = 20;
/**
 * Tokens of the account's burst this host never spends. ELB's bucket starts to refill when a
 * call arrives, ours when it leaves; calls travel for uneven times (a burst opens connections and
 * signs one request after another, a later lone call reuses a warm one), so a bucket drained to
 * exactly zero would let a fast later call reach ELB before its token has. One spare token absorbs
 * up to one refill interval of such unevenness (a burst of 1 leaves none to spare).
 */
export const PACE_SPARE_TOKENS = 1;

export interface PaceOptions {
  readonly limits: ApiLimits;
  /** Hosts sharing the account and region (>= 1). */
  readonly fleetSize: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The pace of one class. */
class ClassPace {
  private readonly capacity: number;
  private rate: number;
  private tokens: number;
  private last: number;
  private holdUntil = 0;
  readonly share: number;

  constructor(
    private readonly limit: RateLimit,
    fleetSize: number,
    private readonly now: () => number,
    private readonly random: () => number,
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new Error(`invalid rate limit ${limit.perSecond}/s burst ${limit.burst}`);
    this.share = limit.perSecond / Math.max(1, fleetSize);
    this.rate = limit.perSecond;
    this.capacity = Math.max(1, limit.burst - PACE_SPARE_TOKENS);
    this.tokens = this.capacity;
    this.last = now();
  }

  get perSecond(): number {
    return this.rate;
  }

  private refill(t: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) * this.rate) / 1000);
    this.last = t;
  }

  /** How long until one call may go (0 = now). */
  delayMs(): number {
    const t = this.now();
    this.refill(t);
    const hold = Math.max(0, this.holdUntil - t);
    const refill = this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
    return Math.max(hold, refill);
  }

  /** Takes a token only if one is there now; returns 0 when it did, else how long until one is (nothing taken). */
  takeNow(): number {
    const wait = this.delayMs();
    if (wait === 0) this.tokens -= 1;
    return wait;
  }

  /** Takes a token whether or not one is there (going into debt); returns how long the caller must wait first. */
  reserve(): number {
    const wait = this.delayMs();
    this.tokens -= 1;
    return wait;
  }

  throttled(): void {
    const t = this.now();
    this.refill(t);
    this.rate = Math.max(this.share, this.rate * PACE_DECREASE);
    this.tokens = Math.min(this.tokens, 0);
    // One share interval, equal-jittered (0.5x to 1.5x): retries from a throttled fleet arrive at its share.
    this.holdUntil = Math.max(this.holdUntil, t + (1000 / this.share) * (0.5 + this.random()));
  }

  succeeded(): void {
    this.rate = Math.min(this.limit.perSecond, this.rate + Math.max(this.share, (this.limit.perSecond - this.share) / PACE_RECOVERY_CALLS));
  }
}

/** The pace of every class for this host. */
export class ApiPace {
  private readonly classes: Record<ApiClass, ClassPace>;

  constructor(o: PaceOptions) {
    const now = o.now ?? Date.now;
    const random = o.random ?? Math.random;
    this.classes = {
      change: new ClassPace(o.limits.change, o.fleetSize, now, random),
      describe: new ClassPace(o.limits.describe, o.fleetSize, now, random),
    };
  }

  /** How long until a call of this class may go (0 = now). */
  delayMs(cls: ApiClass): number {
    return this.classes[cls].delayMs();
  }

  /** Spends one call of the class now; returns how long the caller should wait first (0 = go). */
  reserve(cls: ApiClass): number {
    return this.classes[cls].reserve();
  }

  /** Spends one call of the class only if it may go now: 0 when spent, else how long until it may (nothing spent). */
  takeNow(cls: ApiClass): number {
    return this.classes[cls].takeNow();
  }

  /** Waits for a token for one request of the class (every call through the paced registry). */
  async take(cls: ApiClass): Promise<void> {
    const wait = this.reserve(cls);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** Tells the pace how a call of the class ended: throttled slows the class down, an answer lets it recover, another failure neither. */
  outcome(cls: ApiClass, outcome: 'ok' | 'throttled' | 'failed'): void {
    if (outcome === 'throttled') this.classes[cls].throttled();
    else if (outcome === 'ok') this.classes[cls].succeeded();
  }

  /** The current rate per class (calls per second), for metrics. */
  rates(): Record<ApiClass, number> {
    return Object.fromEntries(API_CLASSES.map((c) => [c, this.classes[c].perSecond])) as Record<ApiClass, number>;
  }

  /** This host's fair share of the account's rate per class. */
  shares(): Record<ApiClass, number> {
    return Object.fromEntries(API_CLASSES.map((c) => [c, this.classes[c].share])) as Record<ApiClass, number>;
  }
}
