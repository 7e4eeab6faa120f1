/**
 * The target registry every call goes through: each call waits for this host's pace of its
 * API class and tells the pace how it ended, so reads that a command needs (status, draining
 * on exit) come out of the same budget as the reconciler's. A pass never sleeps on the budget:
 * its changes go through `prompt`, which sends a call only when the pace allows it now and
 * otherwise says when it will (NotSent), so the writer defers the group until then.
 */
import { OperationError } from '../errors.ts';
import { NotSent, type ActualTarget, type LoadBalancerZones, type TargetGroupInfo, type TargetRef, type TargetRegistry } from '../core/target-registry.ts';
import { apiClassOf, type ApiClass } from './api-budget.ts';
import type { ApiPace } from './api-pace.ts';

/** The API class each call draws from, by its ELBv2 action (apiClassOf), worked out once. */
const CLASS = {
  describeTargets: apiClassOf('DescribeTargetHealth'),
  register: apiClassOf('RegisterTargets'),
  deregister: apiClassOf('DeregisterTargets'),
  describeGroup: apiClassOf('DescribeTargetGroups'),
  loadBalancerZones: apiClassOf('DescribeLoadBalancers'),
} as const;

export class PacedRegistry implements TargetRegistry {
  /** What the registry under the pace tells of itself (fixed for its life), read by the writer as fields, not calls. */
  readonly simulated: boolean | undefined;
  readonly sendsAfter: boolean | undefined;
  /** The same registry, whose calls never wait: one the pace does not allow now is not sent. */
  readonly prompt: PacedRegistry;

  constructor(
    private readonly inner: TargetRegistry,
    readonly pace: ApiPace,
    private readonly onThrottled?: (cls: ApiClass) => void,
    /** `wait`: a call waits for its token; `now`: a call with no token now is not sent (NotSent). */
    private readonly when: 'wait' | 'now' = 'wait',
  ) {
    this.simulated = inner.simulated;
    this.sendsAfter = inner.sendsAfter;
    this.prompt = when === 'now' ? this : new PacedRegistry(inner, pace, onThrottled, 'now');
  }

  describeTargets(arn: string): Promise<ActualTarget[]> {
    return this.paced(CLASS.describeTargets, () => this.inner.describeTargets(arn));
  }

  register(arn: string, targets: readonly TargetRef[], sendAfter?: Promise<void>): Promise<void> {
    return this.paced(CLASS.register, () => this.inner.register(arn, targets, sendAfter));
  }

  deregister(arn: string, targets: readonly TargetRef[]): Promise<void> {
    return this.paced(CLASS.deregister, () => this.inner.deregister(arn, targets));
  }

  describeGroup(arn: string): Promise<TargetGroupInfo> {
    return this.paced(CLASS.describeGroup, () => this.inner.describeGroup(arn));
  }

  loadBalancerZones(arns: readonly string[]): Promise<LoadBalancerZones[]> {
    return this.paced(CLASS.loadBalancerZones, () => this.inner.loadBalancerZones?.(arns) ?? Promise.resolve([]));
  }

  /** One call: a token of its class first, then the call's outcome told to the pace. */
  private async paced<T>(cls: ApiClass, call: () => Promise<T>): Promise<T> {
    if (this.when === 'wait') await this.pace.take(cls);
    else {
      const wait = this.pace.takeNow(cls);
      if (wait > 0) throw new NotSent(`this host's ${cls} pace allows the next call in ${wait} ms`, wait);
    }
    try {
      const out = await call();
      this.pace.outcome(cls, 'ok');
      return out;
    } catch (err) {
      const throttled = err instanceof OperationError && err.kind === 'throttled';
      this.pace.outcome(cls, throttled ? 'throttled' : 'failed');
      if (throttled) this.onThrottled?.(cls);
      throw err;
    }
  }
}
