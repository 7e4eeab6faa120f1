/** What the agent needs to know about a container, independent of the Docker client library. */

export type Protocol = 'tcp' | 'udp' | 'sctp';
export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

/** A published port: container port bound on the host. */
export interface PortBinding {
  readonly containerPort: number;
  readonly protocol: Protocol;
  /** '' or 0.0.0.0 / :: mean every host address. */
  readonly hostIp: string;
  readonly hostPort: number;
}

/** A point-in-time view of one container. */
export interface ContainerSnapshot {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly running: boolean;
  /** A stop signal was sent (Docker `kill` event): it is on its way out but may still serve in-flight requests. */
  readonly stopping: boolean;
  readonly health: HealthStatus;
  /** 'bridge', 'host', 'container:<id>', a user network name, ... */
  readonly networkMode: string;
  readonly ports: readonly PortBinding[];
  /** Ports the image or container exposes (what host networking serves). */
  readonly exposedPorts: readonly { containerPort: number; protocol: Protocol }[];
  /** The container's addresses on its Docker networks: how the readiness gate knows a caller. */
  readonly ipAddresses?: readonly string[];
  /**
   * The last path segment of ECS_CONTAINER_METADATA_URI_V4 in its environment (ECS task
   * containers and host network mode): what the task metadata endpoint knows the container's
   * task by, and what a container sharing the host's addresses shows the readiness gate.
   */
  readonly metadataId?: string;
}

/** Lists the containers on this host. */
export interface ContainerSource {
  /**
   * The running containers. A source that follows events may answer from what they told it;
   * `fresh` asks it to look at every container again (the periodic pass: drift repair).
   */
  list(options?: { fresh?: boolean }): Promise<ContainerSnapshot[]>;
  /** What is about to happen, as far as events tell (a source without events tells nothing): which starts are coming. */
  activity?(): ContainerActivity;
}

/** Signs that more starts are on their way: containers created and not started yet. */
export interface ContainerActivity {
  /** Created less than a while ago and not started yet (siblings being started), with their labels and when they were created (ms). */
  readonly pendingStarts: readonly { readonly labels: Readonly<Record<string, string>>; readonly createdAt: number }[];
}

/** A container lifecycle event, reduced to what schedules work. */
export interface ContainerEvent {
  readonly action: string;
  readonly id: string;
  readonly name?: string;
  /** For `kill`: the signal number or name Docker reports. */
  readonly signal?: string;
  /** For `create`: the container's labels (Docker's event attributes, `image` and `name` among them). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Event time in nanoseconds since the epoch (Docker's timeNano), for resuming with `since`. */
  readonly timeNano: bigint;
}

export const ECS_TASK_ARN_LABEL = 'com.amazonaws.ecs.task-arn';
export const ECS_CONTAINER_NAME_LABEL = 'com.amazonaws.ecs.container-name';
export const ECS_FAMILY_LABEL = 'com.amazonaws.ecs.task-definition-family';
/** The environment variable in which the ECS agent gives each task container its metadata endpoint. */
export const ECS_METADATA_URI_ENV = 'ECS_CONTAINER_METADATA_URI_V4';
