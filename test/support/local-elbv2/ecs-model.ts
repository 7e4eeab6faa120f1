/**
 * The local endpoint's Amazon ECS: clusters, external container instances (agentConnected,
 * status, custom attributes), task definitions (dockerLabels), running tasks (containers and
 * network bindings) and resource tags, with the rules and error codes of the ECS API Reference
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/): PutAttributes ("Attribute"
 * data type: names of up to 128 letters, digits, `-_/\.`; values of up to 128 letters, digits,
 * `-_.@/\:` and spaces, not starting or ending with one; 10 custom attributes per resource),
 * ClusterNotFoundException "Cluster not found.", TargetNotFoundException, ClientException
 * "Unable to describe task definition.". Tests (and the ECS agent stand-ins) put instances and
 * tasks here directly, as the ECS agent would report them; callers read them over HTTP
 * (ecs-actions.ts).
 */
import { randomBytes } from 'node:crypto';

/** An error the ECS API answers with (awsJson1_1: `{"__type", "message"}`, HTTP 400). */
export class EcsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

export interface EcsAttribute {
  readonly name: string;
  readonly value?: string;
}

export interface EcsContainerInstance {
  readonly arn: string;
  readonly id: string;
  /** The managed instance id (mi-...) of an external instance. */
  readonly ec2InstanceId: string;
  status: string;
  agentConnected: boolean;
  readonly registeredAt: number;
  /** Custom attributes by name (the built-in ecs.* ones are added when described). */
  readonly attributes: Map<string, string | undefined>;
}

export interface EcsNetworkBinding {
  readonly containerPort: number;
  readonly hostPort: number;
  readonly protocol?: 'tcp' | 'udp';
  readonly bindIP?: string;
}

/** A task's container as the ECS agent reports it. */
export interface EcsTaskContainer {
  readonly name: string;
  /** The Docker container id. */
  readonly runtimeId?: string;
  readonly networkBindings: readonly EcsNetworkBinding[];
}

export interface EcsTask {
  readonly arn: string;
  readonly containerInstanceArn: string;
  readonly taskDefinitionArn: string;
  lastStatus: string;
  desiredStatus: string;
  readonly startedAt: number;
  readonly containers: readonly (EcsTaskContainer & { readonly arn: string })[];
}

export interface EcsTaskDefinition {
  readonly arn: string;
  readonly family: string;
  readonly revision: number;
  readonly containerDefinitions: readonly { readonly name: string; readonly dockerLabels?: Readonly<Record<string, string>> }[];
}

interface Cluster {
  readonly name: string;
  readonly arn: string;
  readonly instances: Map<string, EcsContainerInstance>;
  readonly tasks: Map<string, EcsTask>;
}

const ATTRIBUTE_NAME = /^[A-Za-z0-9\-_/\\.]{1,128}$/;
const ATTRIBUTE_VALUE = /^[A-Za-z0-9\-_.@/\\: ]{1,128}$/;
/** Custom attributes per resource (PutAttributes: AttributeLimitExceededException beyond). */
export const MAX_CUSTOM_ATTRIBUTES = 10;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** The cluster part of an ARN or the name itself; ECS's default cluster when absent. */
function clusterName(ref: string | undefined): string {
  if (ref === undefined || ref === '') return 'default';
  return ref.startsWith('arn:') ? (ref.split(':cluster/')[1] ?? ref) : ref;
}

export class EcsModel {
  private readonly clusters = new Map<string, Cluster>();
  private readonly definitions = new Map<string, EcsTaskDefinition>();
  private readonly tags = new Map<string, Record<string, string>>();
  /** Resources whose ListTagsForResource the caller's role may not call. */
  readonly tagsDenied = new Set<string>();

  constructor(
    readonly region: string,
    readonly accountId: string,
  ) {}

  private arn(resource: string): string {
    return `arn:aws:ecs:${this.region}:${this.accountId}:${resource}`;
  }

  /** Creates a cluster (or finds it); returns its ARN. */
  createCluster(name: string): string {
    let c = this.clusters.get(name);
    if (!c) {
      c = { name, arn: this.arn(`cluster/${name}`), instances: new Map(), tasks: new Map() };
      this.clusters.set(name, c);
    }
    return c.arn;
  }

  /** The cluster a request names; ClusterNotFoundException when there is none. */
  cluster(ref: string | undefined): Cluster {
    const c = this.clusters.get(clusterName(ref));
    if (!c) throw new EcsError('ClusterNotFoundException', 'Cluster not found.');
    return c;
  }

  /** Registers an external instance as ecs-init would (ACTIVE, agent connected); returns its ARN. */
  registerContainerInstance(cluster: string, ec2InstanceId = `mi-${hex(8).slice(0, 17)}`): string {
    this.createCluster(cluster);
    const c = this.cluster(cluster);
    const id = hex(16);
    const arn = this.arn(`container-instance/${cluster}/${id}`);
    c.instances.set(id, { arn, id, ec2InstanceId, status: 'ACTIVE', agentConnected: true, registeredAt: Date.now() / 1000, attributes: new Map() });
    return arn;
  }

  /** An instance of a cluster by ID or ARN, or undefined. */
  findInstance(c: Cluster, ref: string): EcsContainerInstance | undefined {
    const id = ref.startsWith('arn:') ? ref.split('/').pop() ?? '' : ref;
    const found = c.instances.get(id);
    return found && (!ref.startsWith('arn:') || found.arn === ref) ? found : undefined;
  }

  /** The instance, or InvalidParameterException naming it (control calls and tests). */
  instance(cluster: string | undefined, ref: string): EcsContainerInstance {
    const found = this.findInstance(this.cluster(cluster), ref);
    if (!found) throw new EcsError('InvalidParameterException', `Container instance ${ref} not found in cluster ${clusterName(cluster)}.`);
    return found;
  }

  /** What the ECS agent's connection does (a dead host: false; ECS keeps its tasks RUNNING). */
  setAgentConnected(cluster: string | undefined, ref: string, connected: boolean): void {
    this.instance(cluster, ref).agentConnected = connected;
  }

  /** ACTIVE, DRAINING, INACTIVE (deregistered), ... */
  setInstanceStatus(cluster: string | undefined, ref: string, status: string): void {
    this.instance(cluster, ref).status = status;
  }

  /** PutAttributes: every attribute checked before any is applied. */
  putAttributes(cluster: string | undefined, attributes: readonly { name?: unknown; value?: unknown; targetType?: unknown; targetId?: unknown }[]): EcsAttribute[] {
    const c = this.cluster(cluster);
    if (attributes.length === 0 || attributes.length > MAX_CUSTOM_ATTRIBUTES) throw new EcsError('InvalidParameterException', `attributes must hold 1 to ${MAX_CUSTOM_ATTRIBUTES} attributes.`);
    const changes = attributes.map((a) => {
      if (typeof a.name !== 'string' || !ATTRIBUTE_NAME.test(a.name)) throw new EcsError('InvalidParameterException', `Attribute name ${String(a.name)} is invalid.`);
      if (a.value !== undefined && (typeof a.value !== 'string' || !ATTRIBUTE_VALUE.test(a.value) || a.value.trim() !== a.value)) throw new EcsError('InvalidParameterException', `Attribute value ${String(a.value)} is invalid.`);
      if (a.targetType !== undefined && a.targetType !== 'container-instance') throw new EcsError('InvalidParameterException', `targetType ${String(a.targetType)} is invalid.`);
      if (typeof a.targetId !== 'string') throw new EcsError('InvalidParameterException', 'targetId is required when the cluster has container instances.');
      const target = this.findInstance(c, a.targetId);
      if (!target) throw new EcsError('TargetNotFoundException', `The specified target wasn't found: ${a.targetId}.`);
      return { target, name: a.name, value: a.value as string | undefined };
    });
    for (const { target, name } of changes) {
      const names = new Set([...target.attributes.keys(), ...changes.filter((x) => x.target === target).map((x) => x.name)]);
      if (names.size > MAX_CUSTOM_ATTRIBUTES) throw new EcsError('AttributeLimitExceededException', `You can apply up to ${MAX_CUSTOM_ATTRIBUTES} custom attributes for each resource; ${target.arn} would have ${names.size} (${name}).`);
    }
    for (const { target, name, value } of changes) target.attributes.set(name, value);
    return changes.map(({ target, name, value }) => ({ name, ...(value !== undefined ? { value } : {}), targetType: 'container-instance', targetId: target.arn }) as EcsAttribute);
  }

  /** Registers a task definition revision (family:1, :2, ...); returns its ARN. */
  registerTaskDefinition(family: string, containerDefinitions: EcsTaskDefinition['containerDefinitions']): string {
    const revision = [...this.definitions.values()].filter((d) => d.family === family).length + 1;
    const arn = this.arn(`task-definition/${family}:${revision}`);
    this.definitions.set(arn, { arn, family, revision, containerDefinitions });
    return arn;
  }

  /** DescribeTaskDefinition's lookup: ARN, family:revision, or family (the latest revision). */
  taskDefinition(ref: string): EcsTaskDefinition {
    const all = [...this.definitions.values()];
    const found = ref.startsWith('arn:') ? this.definitions.get(ref) : ref.includes(':') ? all.find((d) => `${d.family}:${d.revision}` === ref) : all.filter((d) => d.family === ref).pop();
    if (!found) throw new EcsError('ClientException', 'Unable to describe task definition.');
    return found;
  }

  /** Places a RUNNING task on an instance, as the ECS agent reports it; returns its ARN. */
  runTask(cluster: string, containerInstance: string, taskDefinitionArn: string, containers: readonly EcsTaskContainer[], taskArn?: string): string {
    const c = this.cluster(cluster);
    const instance = this.instance(cluster, containerInstance);
    this.taskDefinition(taskDefinitionArn);
    const arn = taskArn ?? this.arn(`task/${cluster}/${hex(16)}`);
    c.tasks.set(arn, {
      arn, containerInstanceArn: instance.arn, taskDefinitionArn, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', startedAt: Date.now() / 1000,
      containers: containers.map((x) => ({ ...x, arn: this.arn(`container/${cluster}/${arn.split('/').pop() ?? ''}/${hex(16)}`) })),
    });
    return arn;
  }

  /** Every task of a cluster (stopped ones included). */
  tasks(cluster: string | undefined): EcsTask[] {
    return [...this.cluster(cluster).tasks.values()];
  }

  /** Every instance of a cluster. */
  instances(cluster: string | undefined): EcsContainerInstance[] {
    return [...this.cluster(cluster).instances.values()];
  }

  setTags(resourceArn: string, tags: Record<string, string>): void {
    this.tags.set(resourceArn, { ...tags });
  }

  /** ListTagsForResource: AccessDeniedException for denied resources, InvalidParameterException for unknown ones. */
  listTags(resourceArn: string): Record<string, string> {
    if (this.tagsDenied.has(resourceArn)) throw new EcsError('AccessDeniedException', `User is not authorized to perform: ecs:ListTagsForResource on resource: ${resourceArn}`);
    const tags = this.tags.get(resourceArn);
    if (!tags) throw new EcsError('InvalidParameterException', 'The specified resource is not found.');
    return tags;
  }
}
