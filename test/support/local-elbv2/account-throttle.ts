/**
 * ELBv2's API rate limit as a fleet of callers meets it: one token bucket per API class,
 * per account and region, shared by every caller of that account.
 *
 * What the sources say, and no more:
 * - The ELB user guide ("Request throttling for the Elastic Load Balancing API") says ELB
 *   throttles API requests for each AWS account on a per-Region basis with the token bucket
 *   algorithm, whether you make the call or something does on your behalf (the console, a
 *   third-party application); every request removes one token. Its example: the bucket for
 *   non-mutating actions (`Describe*`) holds 40 tokens and refills at 10 tokens per second.
 *   ELB API version 1 and version 2 have separate buckets, and services calling ELB on your
 *   behalf (EC2, ECS, Auto Scaling, CloudFormation) use their own buckets, not yours.
 * - Over the limit a request fails with HTTP 400 and the message `Rate exceeded`. On the wire
 *   the error code is `Throttling` (what the SDKs report, e.g. "Throttling: Rate exceeded,
 *   status code: 400"); the user guide and CloudTrail call it `ThrottlingException`.
 * - The rates are for the caller to choose. For reference, the AWS Load Balancer Controller
 *   limits itself client-side, "to match ELBv2 API limits", to 4 calls/s (burst 20) for
 *   RegisterTargets/DeregisterTargets and 50 calls/s (burst 200) for `Describe*`. Those are a
 *   client's settings, not a quota AWS guarantees; AWS Support can raise an account's limits.
 *
 * So this module groups actions the way those sources do (`describe`, `change`, `other`) and
 * leaves the numbers to the caller. A class without settings is not throttled.
 */
import { TokenBucket } from './token-bucket.ts';
import type { ThrottleSettings } from './token-bucket.ts';

/** The API classes with a bucket each. */
export type ApiClass = 'describe' | 'change' | 'other';

/** Every class, in a fixed order (for tables and stats). */
export const API_CLASSES: readonly ApiClass[] = ['describe', 'change', 'other'];

/** Bucket settings per class; an absent class is not throttled. */
export interface AccountThrottleSettings {
  /** Every `Describe*` action (DescribeTargetHealth, DescribeTargetGroups, ...). */
  readonly describe?: ThrottleSettings;
  /** RegisterTargets and DeregisterTargets. */
  readonly change?: ThrottleSettings;
  /** Every other action (CreateTargetGroup, ModifyTargetGroupAttributes, ...). */
  readonly other?: ThrottleSettings;
}

/** How many requests of one class passed the throttle step, and how many were answered `Throttling`. */
export interface ThrottleCounts {
  readonly allowed: number;
  readonly throttled: number;
}

/** Counts per class. */
export type ThrottleStats = Readonly<Record<ApiClass, ThrottleCounts>>;

const CHANGE_ACTIONS: ReadonlySet<string> = new Set(['RegisterTargets', 'DeregisterTargets']);

/** The class an action's request spends from (action names are case-sensitive, as in AWS). */
export function apiClassOf(action: string): ApiClass {
  if (action.startsWith('Describe')) return 'describe';
  if (CHANGE_ACTIONS.has(action)) return 'change';
  return 'other';
}

/** One token bucket per API class, all on the same (injectable) clock; each starts full. */
export class AccountThrottle {
  private readonly buckets: ReadonlyMap<ApiClass, TokenBucket>;

  /** Throws (like TokenBucket) for nonsense settings, before anything changes. */
  constructor(
    readonly settings: AccountThrottleSettings,
    now: () => number = Date.now,
  ) {
    const buckets = new Map<ApiClass, TokenBucket>();
    for (const apiClass of API_CLASSES) {
      const classSettings = settings[apiClass];
      if (classSettings) buckets.set(apiClass, new TokenBucket(classSettings, now));
    }
    this.buckets = buckets;
  }

  /** The bucket of a class, or undefined when that class is not throttled. */
  bucket(apiClass: ApiClass): TokenBucket | undefined {
    return this.buckets.get(apiClass);
  }

  /** The bucket a request for `action` spends from, if any. */
  bucketFor(action: string): TokenBucket | undefined {
    return this.bucket(apiClassOf(action));
  }

  /** Takes a token from the action's class; false means "throttle this call". */
  tryTake(action: string): boolean {
    return takeFromAll([this.bucketFor(action)]);
  }
}

/**
 * Takes one token from each bucket given (undefined ones are skipped), or none at all when
 * any of them is empty: a request must pass every limit that applies to it, and a throttled
 * request spends nothing.
 */
export function takeFromAll(buckets: ReadonlyArray<TokenBucket | undefined>): boolean {
  const present = buckets.filter((bucket): bucket is TokenBucket => bucket !== undefined);
  if (!present.every((bucket) => bucket.available() >= 1)) return false;
  for (const bucket of present) bucket.tryTake();
  return true;
}

/** Allowed / throttled counts per class, for benchmarks. */
export class ThrottleCounter {
  private counts = emptyCounts();

  /** Counts one request for `action` that was let through (`allowed`) or answered `Throttling`. */
  record(action: string, allowed: boolean): void {
    const apiClass = apiClassOf(action);
    const current = this.counts[apiClass];
    this.counts = {
      ...this.counts,
      [apiClass]: allowed ? { ...current, allowed: current.allowed + 1 } : { ...current, throttled: current.throttled + 1 },
    };
  }

  /** A copy of the counts so far. */
  stats(): ThrottleStats {
    return { ...this.counts };
  }

  /** Starts counting from zero again. */
  reset(): void {
    this.counts = emptyCounts();
  }
}

function emptyCounts(): Record<ApiClass, ThrottleCounts> {
  return { describe: { allowed: 0, throttled: 0 }, change: { allowed: 0, throttled: 0 }, other: { allowed: 0, throttled: 0 } };
}
