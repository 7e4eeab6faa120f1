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
  register(targetGroupArn: string, targets: readonly TargetRef[]): Promise<void>;
  deregister(targetGroupArn: string, targets: readonly TargetRef[]): Promise<void>;
  describeGroup(targetGroupArn: string): Promise<TargetGroupInfo>;
  /** The zones of these load balancers (DescribeLoadBalancers); absent: this registry cannot tell. */
  loadBalancerZones?(loadBalancerArns: readonly string[]): Promise<LoadBalancerZones[]>;
}

/** Most targets one RegisterTargets/DeregisterTargets call carries (the AWS Load Balancer Controller uses 200). */
export const MAX_TARGETS_PER_CALL = 200;
