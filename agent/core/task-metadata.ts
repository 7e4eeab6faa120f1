/**
 * What the core knows about an ECS task beyond its containers' labels: its service and the
 * tags that map it to target groups, and the port it learns them through. The adapter
 * (task-metadata/) reads the ECS task metadata endpoint (and, when asked, the service's own
 * tags); the core never talks HTTP or to the ECS API.
 */

/** One task as the task metadata endpoint describes it. */
export interface TaskMetadata {
  readonly taskArn: string;
  readonly serviceName?: string;
  /** The task's tags (a service's tags reach them with `propagateTags: SERVICE`), or its service's own tags when the task carries none of ours. */
  readonly tags: Readonly<Record<string, string>>;
  /** Where `tags` came from, for log lines. */
  readonly tagsFrom: 'task' | 'service' | 'none';
  /** The names (task definition `name`) of the task's own containers, internal ones (pause) left out. */
  readonly containerNames: readonly string[];
}

/** Learns task metadata: once per task, cached for its life. */
export interface TaskMetadataSource {
  /**
   * The task's metadata, asked through the metadata id of one of its containers (the last
   * segment of ECS_CONTAINER_METADATA_URI_V4). Undefined while the endpoint cannot tell (it
   * logs why); never throws.
   */
  task(taskArn: string, metadataId: string): Promise<TaskMetadata | undefined>;
  /** Forgets the tasks not in this set (they are gone from the host). */
  retain(taskArns: ReadonlySet<string>): void;
}
