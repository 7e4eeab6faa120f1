/**
 * The task metadata source over the ECS task metadata endpoint v4: `GET
 * <base>/v4/<id>/taskWithTags`, the id from one of the task's containers. One request per
 * task, kept for the task's life; a failed one is tried again after a while, and logged once
 * per cause, not on every pass. When the task's tags name no target group and a service-tag
 * reader is given (--read-service-tags), the service's own tags are used instead.
 */
import { errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';
import type { TaskMetadata, TaskMetadataSource } from '../core/task-metadata.ts';
import { parseTmdsTask, serviceArnOf, userContainerNames, type TmdsTask } from './tmds-response.ts';

/** One request may take this long: the endpoint is local, an answer comes in milliseconds or not at all. */
export const TMDS_TIMEOUT_MS = 2000;
/** A task whose metadata could not be read is asked again after this long. */
export const TMDS_RETRY_MS = 60_000;

/** Reads a service's own tags (ecs:ListTagsForResource); throws with a message naming the cause. */
export type ServiceTagReader = (serviceArn: string) => Promise<Record<string, string>>;

export interface TaskMetadataEndpointOptions {
  readonly baseUrl: string;
  readonly log: Log;
  /** Whether tags name target groups (when not, and `serviceTags` is set, the service's own tags are read). */
  readonly mapsTargetGroups: (tags: Readonly<Record<string, string>>) => boolean;
  readonly serviceTags?: ServiceTagReader;
  readonly timeoutMs?: number;
  readonly retryMs?: number;
  readonly now?: () => number;
  /** Injectable for tests; Node's fetch otherwise. */
  readonly fetch?: typeof fetch;
}

type Entry = { readonly metadata: TaskMetadata } | { readonly failedUntil: number };

/** The source the agent runs with. */
export class TaskMetadataEndpoint implements TaskMetadataSource {
  private readonly tasks = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<TaskMetadata | undefined>>();
  /** The last endpoint-level failure logged (undefined: the endpoint answered since). */
  private endpointProblem: string | undefined;
  /** While the endpoint does not answer at all, no task asks it before this time: one probe per retry period, not one per task. */
  private downUntil = 0;
  private readonly now: () => number;

  constructor(private readonly options: TaskMetadataEndpointOptions) {
    this.now = options.now ?? Date.now;
  }

  async task(taskArn: string, metadataId: string): Promise<TaskMetadata | undefined> {
    const known = this.tasks.get(taskArn);
    if (known && 'metadata' in known) return known.metadata;
    if (known && known.failedUntil > this.now()) return undefined;
    if (this.downUntil > this.now()) return undefined;
    let pending = this.inFlight.get(taskArn);
    if (!pending) {
      pending = this.read(taskArn, metadataId).finally(() => this.inFlight.delete(taskArn));
      this.inFlight.set(taskArn, pending);
    }
    return pending;
  }

  retain(taskArns: ReadonlySet<string>): void {
    for (const arn of this.tasks.keys()) if (!taskArns.has(arn)) this.tasks.delete(arn);
  }

  private async read(taskArn: string, metadataId: string): Promise<TaskMetadata | undefined> {
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/v4/${metadataId}/taskWithTags`;
    let task: TmdsTask;
    try {
      task = await this.get(url);
    } catch (err) {
      const until = this.now() + (this.options.retryMs ?? TMDS_RETRY_MS);
      this.tasks.set(taskArn, { failedUntil: until });
      if (!(err instanceof EndpointAnswer)) this.downUntil = until;
      this.warnOnce(err instanceof EndpointAnswer ? err.message : `unreachable (${errorMessage(err)})`, url, taskArn, err instanceof EndpointAnswer);
      return undefined;
    }
    if (this.endpointProblem !== undefined) {
      this.options.log.info(`task metadata endpoint ${this.options.baseUrl} answers again`, { event: 'task-metadata-ok' });
      this.endpointProblem = undefined;
    }
    // The metadata id comes from the container (its ECS_CONTAINER_METADATA_URI_V4): a container can point it at another
    // task's metadata. Tags are trusted only for the task the container's own label names; for this one, never (logged once).
    if (task.TaskARN !== taskArn) {
      this.tasks.set(taskArn, { failedUntil: Number.POSITIVE_INFINITY });
      this.options.log.warn(`the task metadata endpoint describes ${task.TaskARN} for a container labelled ${taskArn}; that task's tags are not used for it`, {
        event: 'task-metadata-mismatch', taskArn, answeredFor: task.TaskARN,
      });
      return undefined;
    }
    for (const e of task.Errors ?? []) {
      if (e.ErrorField !== 'TaskTags') continue;
      this.options.log.warn(`the ECS agent could not read the tags of task ${taskArn} (${e.ErrorCode ?? 'error'}: ${e.ErrorMessage ?? ''}); its tags map nothing`, {
        event: 'task-tags-unavailable', taskArn, code: e.ErrorCode,
      });
    }
    const taskTags = task.TaskTags ?? {};
    let tags = taskTags;
    let tagsFrom: TaskMetadata['tagsFrom'] = Object.keys(taskTags).length > 0 ? 'task' : 'none';
    if (!this.options.mapsTargetGroups(taskTags) && this.options.serviceTags) {
      const serviceArn = serviceArnOf(task);
      if (serviceArn !== undefined) {
        try {
          const own = await this.options.serviceTags(serviceArn);
          if (this.options.mapsTargetGroups(own)) {
            tags = own;
            tagsFrom = 'service';
          }
        } catch (err) {
          this.options.log.warn(`cannot read the tags of service ${serviceArn}: ${errorMessage(err)}; tasks of it are mapped by labels and the mapping file only (tag the service with propagateTags: SERVICE, or grant ecs:ListTagsForResource)`, {
            event: 'service-tags-unavailable', serviceArn,
          });
        }
      }
    }
    const metadata: TaskMetadata = {
      taskArn,
      ...(task.ServiceName !== undefined ? { serviceName: task.ServiceName } : {}),
      tags,
      tagsFrom,
      containerNames: userContainerNames(task),
    };
    this.tasks.set(taskArn, { metadata });
    this.options.log.debug(`task ${taskArn}: service ${task.ServiceName ?? '(none)'}, ${Object.keys(tags).length} ${tagsFrom} tag(s)`, {
      event: 'task-metadata', taskArn, ...(task.ServiceName !== undefined ? { service: task.ServiceName } : {}), tagsFrom,
    });
    return metadata;
  }

  private async get(url: string): Promise<TmdsTask> {
    const response = await (this.options.fetch ?? fetch)(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? TMDS_TIMEOUT_MS) });
    const body = await response.text();
    if (!response.ok) throw new EndpointAnswer(`answered HTTP ${response.status} (${body.trim().slice(0, 200)})`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new EndpointAnswer('answered with something that is not JSON');
    }
    try {
      return parseTmdsTask(json);
    } catch (err) {
      throw new EndpointAnswer(`answered with an unexpected task response: ${errorMessage(err)}`);
    }
  }

  /** Logs a failure once per cause: every task hits the same unreachable endpoint, one line says it. */
  private warnOnce(problem: string, url: string, taskArn: string, answered: boolean): void {
    const cause = answered ? `${problem}|${taskArn}` : problem.replace(/\(.*\)/, '');
    if (cause === this.endpointProblem) return;
    this.endpointProblem = cause;
    this.options.log.warn(
      answered
        ? `task metadata endpoint ${url} ${problem}: tags of task ${taskArn} are not read (an ECS agent without the task metadata endpoint v4 and its taskWithTags path?); trying again in ${Math.round((this.options.retryMs ?? TMDS_RETRY_MS) / 1000)} s`
        : `task metadata endpoint ${this.options.baseUrl} is ${problem}: service tags (ecs-a.lbName, ecs-anywhere-lb.*) are not read, labels and the mapping file still apply (is the ECS agent running? set --task-metadata-endpoint); trying again in ${Math.round((this.options.retryMs ?? TMDS_RETRY_MS) / 1000)} s`,
      { event: 'task-metadata-unavailable', taskArn, url, problem },
    );
  }
}

/** The endpoint answered, but not with a task: the answer says why. */
class EndpointAnswer extends Error {}
