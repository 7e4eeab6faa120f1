/**
 * What the fleet view reads (container instances, tasks, target groups) and what it reports,
 * as plain data: the ECS adapter (ecs/ecs-api.ts) and the ELB registry fill the facts, the pure
 * diff (fleet-diff.ts) turns them into the report `fleet status` prints and `fleet clean` acts on.
 */
import type { ActualTarget } from '../core/target-registry.ts';

/**
 * The custom attribute each agent puts on its container instance (ecs/address-attribute.ts):
 * the address it registers. ECS allows names of 1-128 letters, digits and `-_/\.`.
 */
export const ADDRESS_ATTRIBUTE = 'ecs-anywhere-lb.address';

/** A container instance of the cluster. */
export interface ContainerInstanceView {
  readonly arn: string;
  /** The last part of the ARN. */
  readonly id: string;
  /** The managed instance id (mi-...) of an ECS Anywhere host, or the EC2 instance id. */
  readonly name?: string;
  /** ACTIVE, DRAINING, REGISTERING, DEREGISTERING, INACTIVE, ... */
  readonly status: string;
  readonly agentConnected: boolean;
  /** Custom and ECS attributes, by name. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** A container of a task and its host port bindings. */
export interface TaskContainerView {
  readonly name: string;
  readonly bindings: readonly { readonly containerPort: number; readonly hostPort: number; readonly protocol: string }[];
}

/** A running task of the cluster. */
export interface TaskView {
  readonly arn: string;
  readonly containerInstanceArn?: string;
  readonly taskDefinitionArn: string;
  readonly lastStatus: string;
  readonly containers: readonly TaskContainerView[];
}

/** Everything one look at the fleet found. */
export interface FleetFacts {
  readonly cluster: string;
  readonly instances: readonly ContainerInstanceView[];
  readonly tasks: readonly TaskView[];
  /** The task definitions' dockerLabels, by task definition ARN, then container name. */
  readonly labels: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, string>>>>>>;
  /** Each target group in play: its targets, or why they could not be read. */
  readonly groups: readonly { readonly targetGroupArn: string; readonly targets?: readonly ActualTarget[]; readonly error?: string }[];
  /** When a fleet command first saw each disconnected instance disconnected (ms since the epoch), by ARN. */
  readonly disconnectedSince: Readonly<Record<string, number>>;
}

/** What the fleet view makes of one target. */
export type TargetVerdict =
  /** A connected instance holds its address and one of its tasks publishes its port. */
  | 'serving'
  /** A connected instance holds its address, but no running task of the cluster publishes the port there: that host's agent owns it. */
  | 'no-task'
  /** Deregistering already. */
  | 'draining'
  /** Its instance's ECS agent is disconnected, for less than the grace: left alone. */
  | 'within-grace'
  /** No connected instance holds its address and the grace (if any) is over: `fleet clean` deregisters it. */
  | 'stale'
  /** Nobody known holds its address, but an instance without the address attribute might: left alone. */
  | 'unknown';

/** One target of a group, with its host and task. */
export interface FleetTarget {
  readonly id: string;
  readonly port: number;
  /** As registered (`all` for an address outside the VPC). */
  readonly availabilityZone?: string;
  readonly state: string;
  readonly reason?: string;
  readonly instanceId?: string;
  readonly instanceName?: string;
  readonly taskArn?: string;
  readonly container?: string;
  readonly verdict: TargetVerdict;
  /** Why the verdict, in words (stale, within-grace, unknown). */
  readonly why?: string;
}

/** A running task's target that its group lacks. */
export interface MissingTarget {
  readonly targetGroupArn: string;
  readonly id: string;
  readonly port: number;
  readonly taskArn: string;
  readonly container: string;
  readonly instanceId: string;
}

/** A container instance as the report shows it. */
export interface InstanceLine {
  readonly arn: string;
  readonly id: string;
  readonly name?: string;
  readonly status: string;
  readonly agentConnected: boolean;
  readonly address?: string;
  /** ISO time a fleet command first saw it disconnected. */
  readonly disconnectedSince?: string;
}

/** What `fleet status` prints (as JSON with --json) and `fleet clean` acts on. */
export interface FleetReport {
  readonly cluster: string;
  readonly graceSeconds: number;
  readonly instances: readonly InstanceLine[];
  readonly groups: readonly { readonly targetGroupArn: string; readonly error?: string; readonly targets: readonly FleetTarget[] }[];
  /** Labelled running tasks whose target is not in the group (or only draining there). */
  readonly missing: readonly MissingTarget[];
  /** Targets to deregister: on no connected instance's address, past the grace. */
  readonly stale: readonly (FleetTarget & { readonly targetGroupArn: string })[];
  /** Connected instances without the address attribute: whose their targets are cannot be told (an agent without --ecs-introspection-endpoint, or older). */
  readonly unattributed: readonly string[];
}

/** Whether the report shows nothing to fix (`fleet status` exits 0). */
export function nothingToFix(report: FleetReport): boolean {
  return report.missing.length === 0 && report.stale.length === 0 && report.unattributed.length === 0 && report.groups.every((g) => g.error === undefined);
}
