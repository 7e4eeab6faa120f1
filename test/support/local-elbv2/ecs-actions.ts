/**
 * The ECS actions the agent's fleet view and address attribute call, as the ECS API Reference
 * describes their requests and responses (awsJson1_1, `X-Amz-Target:
 * AmazonEC2ContainerServiceV20141113.<Action>`, timestamps as epoch seconds):
 * ListContainerInstances, DescribeContainerInstances, PutAttributes, ListAttributes, ListTasks,
 * DescribeTasks, DescribeTaskDefinition and ListTagsForResource. List calls page with
 * `maxResults` (1-100, default 100) and an opaque `nextToken`.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_<Action>.html
 */
import { EcsError, type EcsContainerInstance, type EcsModel, type EcsTask } from './ecs-model.ts';

/** The X-Amz-Target prefix of every ECS action. */
export const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

type Body = Record<string, unknown>;

const str = (b: Body, key: string): string | undefined => (typeof b[key] === 'string' ? (b[key] as string) : undefined);

function list(b: Body, key: string, max: number): string[] {
  const v = b[key];
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string')) throw new EcsError('InvalidParameterException', `${key} can not be empty.`);
  if (v.length > max) throw new EcsError('InvalidParameterException', `${key} can have at most ${max} items.`);
  return v as string[];
}

/** One page of `items` by maxResults and nextToken (the token is the index, base64: opaque to callers). */
function page<T>(items: readonly T[], b: Body): { items: T[]; nextToken?: string } {
  const max = b.maxResults === undefined ? 100 : Number(b.maxResults);
  if (!Number.isInteger(max) || max < 1 || max > 100) throw new EcsError('InvalidParameterException', 'maxResults must be between 1 and 100.');
  const token = str(b, 'nextToken');
  const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64').toString('utf8'));
  if (!Number.isInteger(start) || start < 0) throw new EcsError('InvalidParameterException', 'Invalid nextToken.');
  const end = start + max;
  return { items: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64') } : {}) };
}

/** Built-in attributes an external Linux instance reports, then the custom ones. */
function describeInstance(i: EcsContainerInstance, tasks: readonly EcsTask[]): Body {
  const builtIn = [{ name: 'ecs.os-type', value: 'linux' }, { name: 'ecs.cpu-architecture', value: 'x86_64' }, { name: 'ecs.capability.external' }];
  return {
    containerInstanceArn: i.arn,
    ec2InstanceId: i.ec2InstanceId,
    status: i.status,
    agentConnected: i.agentConnected,
    attributes: [...builtIn, ...[...i.attributes].map(([name, value]) => ({ name, ...(value !== undefined ? { value } : {}) }))],
    registeredAt: i.registeredAt,
    runningTasksCount: tasks.filter((t) => t.containerInstanceArn === i.arn && t.lastStatus === 'RUNNING').length,
    pendingTasksCount: 0,
    versionInfo: { agentVersion: '1.89.0' },
  };
}

function describeTask(t: EcsTask, clusterArn: string): Body {
  return {
    taskArn: t.arn,
    clusterArn,
    containerInstanceArn: t.containerInstanceArn,
    taskDefinitionArn: t.taskDefinitionArn,
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    launchType: 'EXTERNAL',
    startedAt: t.startedAt,
    containers: t.containers.map((c) => ({
      containerArn: c.arn,
      taskArn: t.arn,
      name: c.name,
      lastStatus: t.lastStatus,
      ...(c.runtimeId ? { runtimeId: c.runtimeId } : {}),
      networkBindings: c.networkBindings.map((n) => ({ bindIP: n.bindIP ?? '0.0.0.0', containerPort: n.containerPort, hostPort: n.hostPort, protocol: n.protocol ?? 'tcp' })),
    })),
  };
}

/** Runs one action; throws EcsError for the caller to answer with. */
export function runEcsAction(action: string, b: Body, model: EcsModel): Body {
  switch (action) {
    case 'ListContainerInstances': {
      const c = model.cluster(str(b, 'cluster'));
      const status = str(b, 'status');
      const all = [...c.instances.values()].filter((i) => (status === undefined ? i.status !== 'INACTIVE' : i.status === status));
      const { items, nextToken } = page(all.map((i) => i.arn), b);
      return { containerInstanceArns: items, ...(nextToken ? { nextToken } : {}) };
    }
    case 'DescribeContainerInstances': {
      const c = model.cluster(str(b, 'cluster'));
      const refs = list(b, 'containerInstances', 100);
      const tasks = [...c.tasks.values()];
      const found = refs.map((r) => [r, model.findInstance(c, r)] as const);
      return {
        containerInstances: found.flatMap(([, i]) => (i ? [describeInstance(i, tasks)] : [])),
        failures: found.filter(([, i]) => !i).map(([r]) => ({ arn: r, reason: 'MISSING' })),
      };
    }
    case 'PutAttributes': {
      const attributes = b.attributes;
      if (!Array.isArray(attributes)) throw new EcsError('InvalidParameterException', 'attributes can not be empty.');
      return { attributes: model.putAttributes(str(b, 'cluster'), attributes as Body[]) };
    }
    case 'ListAttributes': {
      const c = model.cluster(str(b, 'cluster'));
      if (str(b, 'targetType') !== 'container-instance') throw new EcsError('InvalidParameterException', 'targetType must be container-instance.');
      const name = str(b, 'attributeName');
      const value = str(b, 'attributeValue');
      if (value !== undefined && name === undefined) throw new EcsError('InvalidParameterException', 'attributeValue requires attributeName.');
      const all = [...c.instances.values()].flatMap((i) => [...i.attributes].filter(([n, v]) => (name === undefined || n === name) && (value === undefined || v === value)).map(([n, v]) => ({ name: n, ...(v !== undefined ? { value: v } : {}), targetType: 'container-instance', targetId: i.arn })));
      const { items, nextToken } = page(all, b);
      return { attributes: items, ...(nextToken ? { nextToken } : {}) };
    }
    case 'ListTasks': {
      const c = model.cluster(str(b, 'cluster'));
      const desired = str(b, 'desiredStatus') ?? 'RUNNING';
      if (!['RUNNING', 'PENDING', 'STOPPED'].includes(desired)) throw new EcsError('InvalidParameterException', `desiredStatus ${desired} is invalid.`);
      const on = str(b, 'containerInstance');
      const instance = on !== undefined ? model.findInstance(c, on) : undefined;
      if (on !== undefined && !instance) throw new EcsError('InvalidParameterException', `Container instance ${on} not found.`);
      const family = str(b, 'family');
      const all = [...c.tasks.values()].filter((t) => t.desiredStatus === desired && (!instance || t.containerInstanceArn === instance.arn) && (family === undefined || model.taskDefinition(t.taskDefinitionArn).family === family));
      const { items, nextToken } = page(all.map((t) => t.arn), b);
      return { taskArns: items, ...(nextToken ? { nextToken } : {}) };
    }
    case 'DescribeTasks': {
      const c = model.cluster(str(b, 'cluster'));
      const refs = list(b, 'tasks', 100);
      const found = refs.map((r) => [r, c.tasks.get(r) ?? [...c.tasks.values()].find((t) => t.arn.endsWith(`/${r}`))] as const);
      return {
        tasks: found.flatMap(([, t]) => (t ? [describeTask(t, c.arn)] : [])),
        failures: found.filter(([, t]) => !t).map(([r]) => ({ arn: r, reason: 'MISSING' })),
      };
    }
    case 'DescribeTaskDefinition': {
      const ref = str(b, 'taskDefinition');
      if (ref === undefined) throw new EcsError('InvalidParameterException', 'taskDefinition can not be blank.');
      const d = model.taskDefinition(ref);
      return { taskDefinition: { taskDefinitionArn: d.arn, family: d.family, revision: d.revision, status: 'ACTIVE', requiresCompatibilities: ['EXTERNAL'], containerDefinitions: d.containerDefinitions.map((x) => ({ name: x.name, ...(x.dockerLabels ? { dockerLabels: x.dockerLabels } : {}) })) } };
    }
    case 'ListTagsForResource': {
      const arn = str(b, 'resourceArn');
      if (arn === undefined) throw new EcsError('InvalidParameterException', 'resourceArn can not be blank.');
      return { tags: Object.entries(model.listTags(arn)).map(([key, value]) => ({ key, value })) };
    }
    default:
      throw new EcsError('UnknownOperationException', `${ECS_TARGET_PREFIX}${action} is not implemented by the local endpoint`);
  }
}
