/**
 * Targets as ELBv2 knows them, and the narrow port the core reads and changes target
 * groups through. The ELB adapter (elb/elbv2-registry.ts) implements it; the core never
 * imports the SDK.
 */

/** A target as ELBv2 identifies it: (Id, Port); AvailabilityZone when outside the VPC. */
export interface TargetRef {
  readonly id: string;
  readonly port: number;
  readonly availabilityZone?: string;
}

/** A target a group holds, with its health state (initial, healthy, unhealthy, unused, draining, unavailable). */
export interface ActualTarget extends TargetRef {
  readonly state: string;
  readonly reason?: string;
}

/** The identity of a target in a group, as recorded in state and used by ownership checks. */
export const targetKey = (targetGroupArn: string, id: string, port: number) => `${targetGroupArn}|${id}|${port}`;

/** What `check` needs to know about a target group. */
export interface TargetGroupInfo {
  readonly arn: string;
  readonly name: string;
  readonly targetType: string;
  readonly protocol?: string;
  readonly port?: number;
  readonly vpcId?: string;
  /** Health check settings: when a new target can have turned healthy (interval x healthy threshold). */
  readonly healthCheckIntervalSeconds?: number;
  readonly healthyThresholdCount?: number;
  /** The load balancers that forward to the group (where its targets' zones come from). */
  readonly loadBalancerArns?: readonly string[];
}

/** A load balancer and the Availability Zones it is enabled in. */
export interface LoadBalancerZones {
  readonly arn: string;
  readonly zones: readonly string[];
}

/** Reads and changes target group membership. Errors are OperationErrors with a code and kind. */
export interface TargetRegistry {
  /** True when changes are only pretended (--dry-run): log lines then say "would register". */
  readonly simulated?: boolean;
  describeTargets(targetGroupArn: string): Promise<ActualTarget[]>;
  /**
   * `sendAfter` (only where `sendsAfter` is true): the request leaves this host only once it
   * resolves (the targets' records are on disk), and is prepared (serialised, signed) meanwhile;
   * when it rejects, nothing is sent and the call rejects with its reason.
   */
  register(targetGroupArn: string, targets: readonly TargetRef[], sendAfter?: Promise<void>): Promise<void>;
  /** Whether `register` holds a prepared request for `sendAfter` (else the caller waits before calling). */
  readonly sendsAfter?: boolean;
  deregister(targetGroupArn: string, targets: readonly TargetRef[]): Promise<void>;
  describeGroup(targetGroupArn: string): Promise<TargetGroupInfo>;
  /** The zones of these load balancers (DescribeLoadBalancers); absent: this registry cannot tell. */
  loadBalancerZones?(loadBalancerArns: readonly string[]): Promise<LoadBalancerZones[]>;
  /**
   * The same registry for calls that must not wait (a reconcile pass): where this registry paces
   * its calls, one the pace does not allow now is not sent (NotSent, with `retryInMs`). Absent:
   * no call ever waits.
   */
  readonly prompt?: TargetRegistry;
}

/**
 * A call that was not sent because what had to come first did not happen: the targets' records
 * could not be written, or this host's pace allows no call now (`retryInMs`: when it will).
 */
export class NotSent extends Error {
  override readonly name = 'NotSent';

  constructor(message: string, readonly retryInMs?: number) {
    super(message);
  }
}

/** Most targets one RegisterTargets/DeregisterTargets call carries (the AWS Load Balancer Controller uses 200). */
export const MAX_TARGETS_PER_CALL = 200;
