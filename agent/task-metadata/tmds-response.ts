/**
 * The part of the ECS task metadata endpoint v4's task response the agent reads, checked on
 * arrival. Shapes as the ECS agent writes them (aws/amazon-ecs-agent):
 * ecs-agent/tmds/handlers/v4/state/response.go (TaskResponse: ServiceName, Containers),
 * ecs-agent/tmds/handlers/v2/response.go (TaskResponse: Cluster, TaskARN, TaskTags, Errors;
 * ContainerResponse: DockerId, Name, DockerName, Type), agent/handlers/v2/response.go (a
 * failed tag read becomes an Errors entry with ErrorField "TaskTags" instead of failing the call).
 */

/** What one container of the task contributes: its Docker id, task definition name and type. */
export interface TmdsContainer {
  readonly DockerId?: string;
  readonly Name?: string;
  readonly DockerName?: string;
  /** NORMAL for the task definition's containers; CNI_PAUSE and other internal types otherwise. */
  readonly Type?: string;
}

/** An entry of `Errors`: what the ECS agent could not fill in. */
export interface TmdsError {
  readonly ErrorField?: string;
  readonly ErrorCode?: string;
  readonly ErrorMessage?: string;
  readonly ResourceARN?: string;
}

/** The fields of `/v4/<id>/taskWithTags` the agent uses. */
export interface TmdsTask {
  readonly Cluster?: string;
  readonly TaskARN: string;
  readonly ServiceName?: string;
  readonly TaskTags?: Readonly<Record<string, string>>;
  readonly Containers?: readonly TmdsContainer[];
  readonly Errors?: readonly TmdsError[];
}

/** The container type of the task definition's own containers (internal ones, such as the Service Connect pause container, have others). */
export const NORMAL_CONTAINER = 'NORMAL';

const isText = (v: unknown): v is string => typeof v === 'string';

/** Checks a parsed response; throws naming the field that is wrong. */
export function parseTmdsTask(json: unknown): TmdsTask {
  if (typeof json !== 'object' || json === null) throw new Error('the response is not a JSON object');
  const o = json as Record<string, unknown>;
  if (!isText(o.TaskARN) || !o.TaskARN.startsWith('arn:')) throw new Error('the response has no TaskARN');
  const tags = o.TaskTags;
  if (tags !== undefined && (typeof tags !== 'object' || tags === null || !Object.values(tags).every(isText))) throw new Error('TaskTags is not an object of strings');
  if (o.Containers !== undefined && !Array.isArray(o.Containers)) throw new Error('Containers is not a list');
  if (o.Errors !== undefined && !Array.isArray(o.Errors)) throw new Error('Errors is not a list');
  return {
    TaskARN: o.TaskARN,
    ...(isText(o.Cluster) ? { Cluster: o.Cluster } : {}),
    ...(isText(o.ServiceName) && o.ServiceName !== '' ? { ServiceName: o.ServiceName } : {}),
    ...(tags !== undefined ? { TaskTags: tags as Record<string, string> } : {}),
    Containers: ((o.Containers as unknown[] | undefined) ?? []).filter((c): c is TmdsContainer => typeof c === 'object' && c !== null),
    Errors: ((o.Errors as unknown[] | undefined) ?? []).filter((e): e is TmdsError => typeof e === 'object' && e !== null),
  };
}

/** The names of the task definition's containers (internal ones left out). */
export function userContainerNames(task: TmdsTask): string[] {
  return (task.Containers ?? []).filter((c) => (c.Type ?? NORMAL_CONTAINER) === NORMAL_CONTAINER && isText(c.Name)).map((c) => c.Name as string);
}

/**
 * The service's ARN (long format, the only one that carries tags):
 * arn:PARTITION:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE, from the task ARN and the cluster.
 */
export function serviceArnOf(task: TmdsTask): string | undefined {
  if (task.ServiceName === undefined) return undefined;
  const [arn, partition, service, region, account, resource] = task.TaskARN.split(':');
  if (arn !== 'arn' || service !== 'ecs' || !region || !account || !resource?.startsWith('task/')) return undefined;
  const cluster = task.Cluster?.includes(':cluster/') ? task.Cluster.split(':cluster/')[1] : (task.Cluster ?? resource.split('/')[1]);
  if (!cluster) return undefined;
  return `arn:${partition}:ecs:${region}:${account}:service/${cluster}/${task.ServiceName}`;
}
