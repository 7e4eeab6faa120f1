// The local endpoint's ECS through the real SDK's ECS client over HTTP: the calls the fleet
// view and the address attribute make, their paging, the API reference's errors
// (ClusterNotFoundException, TargetNotFoundException, AttributeLimitExceededException,
// InvalidParameterException, ClientException, ThrottlingException) and the control call that
// marks an instance's agent disconnected; then the agent's own ECS adapter (ecs/ecs-api.ts)
// paced and retried through the account's ECS bucket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescribeContainerInstancesCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, ListAttributesCommand,
  ListContainerInstancesCommand, ListTasksCommand, PutAttributesCommand,
} from '@aws-sdk/client-ecs';
import { ECS_API_LIMITS, createEcsApi } from '../../agent/ecs/ecs-api.ts';
import { ApiPace } from '../../agent/fleet/api-pace.ts';
import { startLocalElbv2, type LocalElbv2 } from '../support/local-elbv2/index.ts';

let elb: LocalElbv2;
let ecs: ECSClient;
const credentials = { accessKeyId: 'AKIDLOCALECS', secretAccessKey: 'secret' };

beforeAll(async () => {
  elb = await startLocalElbv2({ ecsThrottle: { ratePerSecond: 1000, burst: 1000 } });
  ecs = new ECSClient({ region: elb.region, endpoint: elb.url, credentials, maxAttempts: 1 });
});
afterAll(async () => {
  ecs?.destroy();
  await elb?.close();
});

const codeOf = async (p: Promise<unknown>) => p.then(() => 'ok', (e: { name?: string; message?: string }) => `${e.name}: ${e.message}`);

describe('local ECS: container instances and attributes', () => {
  it('lists, describes (agentConnected, status, attributes) and pages', async () => {
    const arns = Array.from({ length: 3 }, (_, i) => elb.ecs.registerContainerInstance('paged', `mi-0000000000000000${i}`));
    const first = await ecs.send(new ListContainerInstancesCommand({ cluster: 'paged', maxResults: 2 }));
    const second = await ecs.send(new ListContainerInstancesCommand({ cluster: 'paged', maxResults: 2, nextToken: first.nextToken }));
    expect([...(first.containerInstanceArns ?? []), ...(second.containerInstanceArns ?? [])]).toEqual(arns);
    expect(second.nextToken).toBeUndefined();

    elb.ecs.setInstanceStatus('paged', arns[2] as string, 'INACTIVE');
    expect((await ecs.send(new ListContainerInstancesCommand({ cluster: 'paged' }))).containerInstanceArns).toEqual(arns.slice(0, 2));

    const res = await fetch(`${elb.url}/_local/ecs/agent-connected`, { method: 'PUT', body: JSON.stringify({ cluster: 'paged', containerInstance: arns[1], agentConnected: false }) });
    expect(res.status).toBe(200);
    const bad = await fetch(`${elb.url}/_local/ecs/agent-connected`, { method: 'PUT', body: JSON.stringify({ cluster: 'paged', containerInstance: 'nope', agentConnected: false }) });
    expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([400, 'Container instance nope not found in cluster paged.']);

    const out = await ecs.send(new DescribeContainerInstancesCommand({ cluster: 'paged', containerInstances: [arns[0] as string, (arns[1] as string).split('/').pop() as string, 'missing-id'] }));
    expect(out.containerInstances?.map((c) => [c.ec2InstanceId, c.status, c.agentConnected])).toEqual([['mi-00000000000000000', 'ACTIVE', true], ['mi-00000000000000001', 'ACTIVE', false]]);
    expect(out.containerInstances?.[0]?.registeredAt).toBeInstanceOf(Date);
    expect(out.failures).toEqual([{ arn: 'missing-id', reason: 'MISSING' }]);
  });

  it('puts and lists custom attributes by the API\'s rules', async () => {
    const arn = elb.ecs.registerContainerInstance('attrs');
    const put = (name: string, value?: string, targetId = arn) => ecs.send(new PutAttributesCommand({ cluster: 'attrs', attributes: [{ name, ...(value !== undefined ? { value } : {}), targetType: 'container-instance', targetId }] }));
    expect((await put('ecs-anywhere-lb.address', '10.8.0.10')).attributes).toEqual([{ name: 'ecs-anywhere-lb.address', value: '10.8.0.10', targetType: 'container-instance', targetId: arn }]);
    await put('ecs-anywhere-lb.address', '10.8.0.11');
    const listed = await ecs.send(new ListAttributesCommand({ cluster: 'attrs', targetType: 'container-instance', attributeName: 'ecs-anywhere-lb.address' }));
    expect(listed.attributes).toEqual([{ name: 'ecs-anywhere-lb.address', value: '10.8.0.11', targetType: 'container-instance', targetId: arn }]);
    const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster: 'attrs', containerInstances: [arn] }));
    expect(described.containerInstances?.[0]?.attributes).toContainEqual({ name: 'ecs-anywhere-lb.address', value: '10.8.0.11' });

    expect(await codeOf(put('bad name!', 'x'))).toBe('InvalidParameterException: Attribute name bad name! is invalid.');
    expect(await codeOf(put('ok', ' leading space'))).toBe('InvalidParameterException: Attribute value  leading space is invalid.');
    expect(await codeOf(put('ok', 'x', 'arn:aws:ecs:us-east-1:123456789012:container-instance/attrs/ffff'))).toMatch(/^TargetNotFoundException: /);
    for (let i = 0; i < 9; i++) await put(`custom-${i}`, 'v');
    expect(await codeOf(put('one-too-many', 'v'))).toMatch(/^AttributeLimitExceededException: You can apply up to 10 custom attributes/);
    expect(await codeOf(ecs.send(new PutAttributesCommand({ cluster: 'nowhere', attributes: [{ name: 'a', value: 'b', targetId: arn }] })))).toBe('ClusterNotFoundException: Cluster not found.');
  });
});

describe('local ECS: tasks and task definitions', () => {
  it('lists running tasks, describes their bindings, and the task definitions\' dockerLabels', async () => {
    const instance = elb.ecs.registerContainerInstance('tasks');
    const td = elb.ecs.registerTaskDefinition('web', [{ name: 'app', dockerLabels: { 'ecs-anywhere-lb.target-group-arn': 'arn:x' } }]);
    const task = elb.ecs.runTask('tasks', instance, td, [{ name: 'app', runtimeId: 'abc', networkBindings: [{ containerPort: 8080, hostPort: 32768 }] }]);
    expect((await ecs.send(new ListTasksCommand({ cluster: 'tasks', desiredStatus: 'RUNNING' }))).taskArns).toEqual([task]);
    expect((await ecs.send(new ListTasksCommand({ cluster: 'tasks', desiredStatus: 'STOPPED' }))).taskArns).toEqual([]);
    const described = await ecs.send(new DescribeTasksCommand({ cluster: 'tasks', tasks: [task] }));
    expect(described.tasks?.map((t) => [t.containerInstanceArn, t.taskDefinitionArn, t.lastStatus, t.launchType, t.containers?.map((c) => [c.name, c.runtimeId, c.networkBindings])])).toEqual([
      [instance, td, 'RUNNING', 'EXTERNAL', [['app', 'abc', [{ bindIP: '0.0.0.0', containerPort: 8080, hostPort: 32768, protocol: 'tcp' }]]]],
    ]);
    const def = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web:1' }));
    expect([def.taskDefinition?.taskDefinitionArn, def.taskDefinition?.containerDefinitions?.[0]?.dockerLabels]).toEqual([td, { 'ecs-anywhere-lb.target-group-arn': 'arn:x' }]);
    expect(await codeOf(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web:9' })))).toBe('ClientException: Unable to describe task definition.');
    expect(await codeOf(ecs.send(new DescribeTasksCommand({ cluster: 'tasks', tasks: [] })))).toBe('InvalidParameterException: tasks can not be empty.');
  });
});

describe('the agent\'s ECS adapter against the account\'s ECS bucket', () => {
  it('waits out ThrottlingException at its pace and gets every answer', async () => {
    const throttled = await startLocalElbv2({ ecsThrottle: { ratePerSecond: 10, burst: 2 } });
    try {
      const arns = Array.from({ length: 6 }, () => throttled.ecs.registerContainerInstance('busy'));
      const pace = new ApiPace({ limits: { ...ECS_API_LIMITS, describe: { perSecond: 100, burst: 100 } }, fleetSize: 1 });
      let throttles = 0;
      const api = await createEcsApi({ credentials: async () => credentials, pace, region: throttled.region, endpoint: throttled.url, onThrottled: () => throttles++ });
      const views = await Promise.all(arns.map((arn) => api.describeContainerInstances('busy', [arn])));
      expect(views.map((v) => v[0]?.arn)).toEqual(arns);
      const log = throttled.requestLog.filter((e) => e.action === 'DescribeContainerInstances');
      expect(log.filter((e) => e.errorCode === 'ThrottlingException').length).toBe(throttles);
      expect(throttles).toBeGreaterThan(0);
      expect(log.filter((e) => e.status === 200)).toHaveLength(6);
      // A permanent error is thrown at once, naming the call and resource.
      await expect(api.listContainerInstances('nowhere')).rejects.toThrow('ecs:ListContainerInstances nowhere: ClusterNotFoundException: Cluster not found.');
    } finally {
      await throttled.close();
    }
  });
});
