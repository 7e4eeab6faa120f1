/** The narrow interface the reconciler uses to read and change target groups. */
import type { ActualTarget, TargetRef } from '../reconcile/plan.ts';

/** What `check` needs to know about a target group. */
export interface TargetGroupInfo {
  readonly arn: string;
  readonly name: string;
  readonly targetType: string;
  readonly protocol?: string;
  readonly port?: number;
  readonly vpcId?: string;
}

/** Reads and changes target group membership. Errors are OperationErrors with a code and kind. */
export interface TargetRegistry {
  describeTargets(targetGroupArn: string): Promise<ActualTarget[]>;
  register(targetGroupArn: string, targets: readonly TargetRef[]): Promise<void>;
  deregister(targetGroupArn: string, targets: readonly TargetRef[]): Promise<void>;
  describeGroup(targetGroupArn: string): Promise<TargetGroupInfo>;
}

/** Most targets one RegisterTargets/DeregisterTargets call carries (the AWS Load Balancer Controller uses 200). */
export const MAX_TARGETS_PER_CALL = 200;
