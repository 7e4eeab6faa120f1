/**
 * The policies a simulated agent can run with. `current` is the agent as main.ts builds it
 * (agent/wiring.ts: its ApiPace, PacedRegistry and Reconciler), unchanged.
 * The others are prototypes of policy changes, injected as a pace object or a registry wrapper
 * (agent/ is not edited).
 */
import { API_CLASSES, type ApiClass, type RateLimit } from '../../agent/fleet/api-budget.ts';
import { ApiPace, type PaceOptions } from '../../agent/fleet/api-pace.ts';
import type { TargetRegistry } from '../../agent/core/target-registry.ts';
import type { PaceFactory } from './sim-host.ts';

/** Calls a prototype pace let out while it said wait (PacedRegistry would sleep on a real timer; should stay 0). */
export const paceViolations = { count: 0 };

/** ApiPace with the check above, for prototypes built on it. */
export class CheckedPace extends ApiPace {
  override take(cls: ApiClass): Promise<void> {
    if (this.delayMs(cls) > 0) paceViolations.count++;
    return super.take(cls);
  }
}

/** share-pace: the fleet's congested calls are spread to this share of the account's rate. */
export const SHARE_PACE_UTILISATION = 0.8;

/**
 * One class of the share-pace prototype. Uncongested, it is the current pace's bucket (the
 * account's rate and burst: a lone change goes at once). On a throttled call it becomes
 * congested: one call per share interval (the account's rate x 0.8 / fleet size), jittered
 * 0.5-1.5x, and no burst at all, so a host with a backlog (a VPN move is 2 calls per group)
 * never sends it in one go and the congested fleet as a whole arrives at 80% of the refill.
 * A call that goes through does not speed it up; it leaves congestion only after two share
 * intervals without sending anything (its backlog is done), back to the full rate and burst.
 */
class ShareClass {
  private tokens: number;
  private last: number;
  private congested = false;
  private nextAt = 0;
  private lastSent = -Infinity;
  readonly share: number;

  constructor(
    private readonly limit: RateLimit,
    fleetSize: number,
    private readonly now: () => number,
    private readonly random: () => number,
  ) {
    this.share = (limit.perSecond * SHARE_PACE_UTILISATION) / Math.max(1, fleetSize);
    this.tokens = limit.burst;
    this.last = now();
  }

  private get intervalMs(): number {
    return 1000 / this.share;
  }

  private update(t: number): void {
    if (this.congested && t - this.lastSent > 2 * this.intervalMs) {
      this.congested = false;
      this.tokens = this.limit.burst;
    }
    if (!this.congested) this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) * this.limit.perSecond) / 1000);
    this.last = t;
  }

  delayMs(): number {
    const t = this.now();
    this.update(t);
    if (this.congested) return Math.max(0, Math.ceil(this.nextAt - t));
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.limit.perSecond);
  }

  reserve(): number {
    const wait = this.delayMs();
    const t = this.now();
    this.lastSent = t;
    if (this.congested) this.nextAt = Math.max(t, this.nextAt) + this.intervalMs * (0.5 + this.random());
    else this.tokens -= 1;
    return wait;
  }

  throttled(): void {
    const t = this.now();
    this.update(t);
    this.congested = true;
    this.tokens = 0;
    this.lastSent = t;
    this.nextAt = Math.max(this.nextAt, t + this.intervalMs * (0.5 + this.random()));
  }

  get perSecond(): number {
    return this.congested ? this.share : this.limit.perSecond;
  }
}

/** The share-pace prototype for every class (same surface as ApiPace). */
export class SharePace extends CheckedPace {
  private readonly share: Record<ApiClass, ShareClass>;

  constructor(o: PaceOptions) {
    super(o);
    const now = o.now ?? Date.now;
    const random = o.random ?? Math.random;
    this.share = {
      change: new ShareClass(o.limits.change, o.fleetSize, now, random),
      describe: new ShareClass(o.limits.describe, o.fleetSize, now, random),
    };
  }

  override delayMs(cls: ApiClass): number {
    return this.share[cls].delayMs();
  }

  override reserve(cls: ApiClass): number {
    return this.share[cls].reserve();
  }

  override outcome(cls: ApiClass, outcome: 'ok' | 'throttled' | 'failed'): void {
    if (outcome === 'throttled') this.share[cls].throttled();
  }

  override rates(): Record<ApiClass, number> {
    return Object.fromEntries(API_CLASSES.map((c) => [c, this.share[c].perSecond])) as Record<ApiClass, number>;
  }

  override shares(): Record<ApiClass, number> {
    return Object.fromEntries(API_CLASSES.map((c) => [c, this.share[c].share])) as Record<ApiClass, number>;
  }
}

export type PolicyName = 'current' | 'share-pace' | 'known-health-check';

export interface Policy {
  readonly description: string;
  /** Undefined: the agent's own pace (wireReconciler). */
  readonly pace?: PaceFactory;
  /** Wraps the registry the reconciler is given (the paced one), to prototype a change in what it calls. */
  readonly registry?: (paced: TargetRegistry) => TargetRegistry;
}

export const POLICIES: Record<PolicyName, Policy> = {
  current: { description: 'the agent as committed, built by agent/wiring.ts as main.ts builds it' },
  'share-pace': {
    description: 'prototype: once throttled, one call per share interval (80% of the account rate / fleet size), no burst, until idle for two share intervals',
    pace: (o: PaceOptions) => new SharePace(o),
  },
  'known-health-check': {
    description: 'prototype: the readiness gate knows each group\'s health check settings without DescribeTargetGroups (kept in the state file or configured), otherwise as committed',
    registry: (paced) => ({
      get simulated() {
        return paced.simulated;
      },
      describeTargets: (arn) => paced.describeTargets(arn),
      register: (arn, targets) => paced.register(arn, targets),
      deregister: (arn, targets) => paced.deregister(arn, targets),
      describeGroup: (arn) => Promise.resolve({ arn, name: arn.split('/')[1] ?? arn, targetType: 'ip', protocol: 'HTTP', port: 80, healthCheckIntervalSeconds: 30, healthyThresholdCount: 5 }),
    }),
  },
};
