/**
 * The ECS calls of the fleet view and of the address attribute, over the AWS SDK's ECS client
 * (loaded only when one of them is built). Every call waits for the caller's pace of its class
 * (fleet/api-pace.ts, the agent's own AIMD bucket, sized here by the ECS limits) and is retried
 * on throttling and transient failures with jittered backoff; a permanent error (unknown
 * cluster, access denied) is thrown at once as an OperationError naming the call and resource.
 * API reference: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ (ListContainerInstances,
 * DescribeContainerInstances, ListTasks, DescribeTasks, DescribeTaskDefinition, PutAttributes).
 */
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { errorCodeOf, kindOf } from '../aws-errors.ts';
import { OperationError, errorMessage } from '../errors.ts';
import type { ApiClass, ApiLimits } from '../fleet/api-budget.ts';
import type { ApiPace } from '../fleet/api-pace.ts';
import { COMMAND_RETRY, retryWhilePassing, type RetryOptions } from '../fleet/retry.ts';
import type { ContainerInstanceView, TaskView } from '../fleet-view/fleet-facts.ts';

/**
 * What the agent plans with for ECS, per account and region ("Request throttling for the Amazon
 * ECS API", developer guide): reads (List*, Describe*) the page's cluster-read bucket of 50
 * refilled at 20/s; PutAttributes, which the page does not list, a cautious 1/s with a burst of 10.
 */
export const ECS_API_LIMITS: ApiLimits = {
  change: { perSecond: 1, burst: 10 },
  describe: { perSecond: 20, burst: 50 },
};

/** Most container instances or tasks one Describe* call takes (API reference: "up to 100"). */
export const MAX_DESCRIBE_BATCH = 100;

export interface EcsApiOptions {
  readonly credentials: AwsCredentialIdentityProvider;
  readonly pace: ApiPace;
  /** The region of the calls (from the cluster or container instance ARN, or AWS_REGION). */
  readonly region: string;
  /** Endpoint override (tests); otherwise the SDK's own resolution, AWS_ENDPOINT_URL_ECS included. */
  readonly endpoint?: string;
  /** Tries per call and the backoff between them (default COMMAND_RETRY). */
  readonly retry?: RetryOptions;
  /** Told of every throttled answer (metrics, logs). */
  readonly onThrottled?: (action: string) => void;
}

/** The ECS calls, paced and retried. Build it with createEcsApi (which loads the SDK). */
export class EcsApi {
  private readonly taskDefinitions = new Map<string, Promise<Record<string, Record<string, string>>>>();

  constructor(
    private readonly client: ECSClient,
    private readonly sdk: typeof import('@aws-sdk/client-ecs'),
    private readonly o: EcsApiOptions,
  ) {}

  /** Every container instance ARN of the cluster (all statuses but INACTIVE, as the API lists them). */
  listContainerInstances(cluster: string): Promise<string[]> {
    return this.allPages('ListContainerInstances', cluster, async (page) => {
      const out = await this.client.send(new this.sdk.ListContainerInstancesCommand({ cluster, ...page }));
      return { items: out.containerInstanceArns ?? [], nextToken: out.nextToken };
    });
  }

  /** The container instances, in batches of 100. */
  describeContainerInstances(cluster: string, arns: readonly string[]): Promise<ContainerInstanceView[]> {
    return inBatches(arns, async (batch) => {
      const out = await this.call('DescribeContainerInstances', cluster, 'describe', () => this.client.send(new this.sdk.DescribeContainerInstancesCommand({ cluster, containerInstances: batch })));
      return (out.containerInstances ?? []).map((c): ContainerInstanceView => {
        const arn = c.containerInstanceArn ?? '';
        return {
          arn,
          id: arn.split('/').pop() ?? arn,
          ...(c.ec2InstanceId ? { name: c.ec2InstanceId } : {}),
          status: c.status ?? 'UNKNOWN',
          agentConnected: c.agentConnected === true,
          attributes: Object.fromEntries((c.attributes ?? []).filter((a) => a.name !== undefined).map((a) => [a.name as string, a.value ?? ''])),
        };
      });
    });
  }

  /** The ARNs of the cluster's tasks whose desired status is RUNNING. */
  listRunningTasks(cluster: string): Promise<string[]> {
    return this.allPages('ListTasks', cluster, async (page) => {
      const out = await this.client.send(new this.sdk.ListTasksCommand({ cluster, desiredStatus: 'RUNNING', ...page }));
      return { items: out.taskArns ?? [], nextToken: out.nextToken };
    });
  }

  /** The tasks, with their containers' network bindings, in batches of 100. */
  describeTasks(cluster: string, arns: readonly string[]): Promise<TaskView[]> {
    return inBatches(arns, async (batch) => {
      const out = await this.call('DescribeTasks', cluster, 'describe', () => this.client.send(new this.sdk.DescribeTasksCommand({ cluster, tasks: batch })));
      return (out.tasks ?? []).map((t): TaskView => ({
        arn: t.taskArn ?? '',
        ...(t.containerInstanceArn ? { containerInstanceArn: t.containerInstanceArn } : {}),
        taskDefinitionArn: t.taskDefinitionArn ?? '',
        lastStatus: t.lastStatus ?? 'UNKNOWN',
        containers: (t.containers ?? []).map((c) => ({
          name: c.name ?? '',
          bindings: (c.networkBindings ?? []).flatMap((n) => (n.containerPort !== undefined && n.hostPort !== undefined ? [{ containerPort: n.containerPort, hostPort: n.hostPort, protocol: n.protocol ?? 'tcp' }] : [])),
        })),
      }));
    });
  }

  /** A task definition's dockerLabels per container name (one call per task definition, kept: a revision never changes). */
  dockerLabels(taskDefinitionArn: string): Promise<Record<string, Record<string, string>>> {
    let known = this.taskDefinitions.get(taskDefinitionArn);
    if (!known) {
      known = this.call('DescribeTaskDefinition', taskDefinitionArn, 'describe', () => this.client.send(new this.sdk.DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn }))).then((out) =>
        Object.fromEntries((out.taskDefinition?.containerDefinitions ?? []).map((c) => [c.name ?? '', { ...(c.dockerLabels ?? {}) }])),
      );
      known.catch(() => this.taskDefinitions.delete(taskDefinitionArn));
      this.taskDefinitions.set(taskDefinitionArn, known);
    }
    return known;
  }

  /** Puts one custom attribute on a container instance (PutAttributes, targetType container-instance). */
  async putAttribute(cluster: string, containerInstanceArn: string, name: string, value: string): Promise<void> {
    await this.call('PutAttributes', containerInstanceArn, 'change', () =>
      this.client.send(new this.sdk.PutAttributesCommand({ cluster, attributes: [{ name, value, targetType: 'container-instance', targetId: containerInstanceArn }] })),
    );
  }

  /** Every page of a List call (100 items a page, the API's most), each page one paced call. */
  private async allPages(action: string, resource: string, send: (page: { maxResults: number; nextToken?: string }) => Promise<{ items: string[]; nextToken: string | undefined }>): Promise<string[]> {
    const items: string[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const out = await this.call(action, resource, 'describe', () => send({ maxResults: 100, ...(token ? { nextToken: token } : {}) }));
      items.push(...out.items);
      nextToken = out.nextToken;
    } while (nextToken);
    return items;
  }

  /** One call: paced, retried while the failure may pass, then an OperationError. */
  private call<T>(action: string, resource: string, cls: ApiClass, send: () => Promise<T>): Promise<T> {
    const once = async (): Promise<T> => {
      const wait = this.o.pace.reserve(cls);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      try {
        const out = await send();
        this.o.pace.outcome(cls, 'ok');
        return out;
      } catch (err) {
        const kind = kindOf(err);
        this.o.pace.outcome(cls, kind === 'throttled' ? 'throttled' : 'failed');
        if (kind === 'throttled') this.o.onThrottled?.(action);
        throw new OperationError(`ecs:${action}`, resource, errorCodeOf(err), kind, errorMessage(err), { cause: err });
      }
    };
    return retryWhilePassing(once, (err) => (err as OperationError).kind, this.o.retry ?? COMMAND_RETRY);
  }
}

/** Describes ARNs in batches of MAX_DESCRIBE_BATCH, one after the other. */
async function inBatches<T>(arns: readonly string[], describe: (batch: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < arns.length; i += MAX_DESCRIBE_BATCH) out.push(...(await describe(arns.slice(i, i + MAX_DESCRIBE_BATCH))));
  return out;
}

/** Loads @aws-sdk/client-ecs and builds the client: one attempt per SDK call (EcsApi retries at the pace). */
export async function createEcsApi(o: EcsApiOptions): Promise<EcsApi> {
  const sdk = await import('@aws-sdk/client-ecs');
  const client = new sdk.ECSClient({ region: o.region, credentials: o.credentials, maxAttempts: 1, ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}) });
  return new EcsApi(client, sdk, o);
}

/** The region an ECS ARN names (arn:PARTITION:ecs:REGION:ACCOUNT:...), or undefined for a bare name. */
export function regionOfEcsArn(text: string): string | undefined {
  const parts = text.split(':');
  return parts[0] === 'arn' && parts[2] === 'ecs' && parts[3] ? parts[3] : undefined;
}
