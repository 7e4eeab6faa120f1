// The task metadata adapter over real HTTP: against the stand-in of the ECS agent's endpoint
// (test/support/task-metadata-stand-in.ts, the ECS agent's response shapes), and the service
// tag reader with the real ECS client against a small ListTagsForResource stand-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskMetadataEndpoint } from '../../agent/task-metadata/task-metadata-endpoint.ts';
import { createServiceTagReader } from '../../agent/task-metadata/service-tags.ts';
import { serviceArnOf } from '../../agent/task-metadata/tmds-response.ts';
import { namesTargetGroups } from '../../agent/mapping/task-tags.ts';
import { startTaskMetadataStandIn, type TaskMetadataStandIn } from '../support/task-metadata-stand-in.ts';
import { startEcsTagsStandIn } from '../support/ecs-tags-stand-in.ts';
import type { Log } from '../../agent/log.ts';

const TASK = 'arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef';
const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';

function memoryLog(): Log & { lines: { level: string; message: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const log = {
    lines,
    error: (message: string, fields?: object) => void lines.push({ level: 'error', message, fields: fields as Record<string, unknown> }),
    warn: (message: string, fields?: object) => void lines.push({ level: 'warn', message, fields: fields as Record<string, unknown> }),
    info: (message: string, fields?: object) => void lines.push({ level: 'info', message, fields: fields as Record<string, unknown> }),
    debug: () => undefined,
    child: () => log,
  };
  return log;
}

const maps = (tags: Readonly<Record<string, string>>) => namesTargetGroups(tags, true);
let tmds: TaskMetadataStandIn;

beforeAll(async () => {
  tmds = await startTaskMetadataStandIn();
});
afterAll(async () => {
  await tmds.close();
});

describe('TaskMetadataEndpoint', () => {
  it('reads the service, the tags and the task definition\'s container names, once per task', async () => {
    const id = tmds.newId();
    tmds.setTask(id, {
      taskArn: TASK, serviceName: 'svc', tags: { 'ecs-a.lbName': TG },
      containers: [{ dockerId: 'a'.repeat(64), name: 'web' }, { dockerId: 'b'.repeat(64), name: '~internal~ecs~pause', type: 'CNI_PAUSE' }, { dockerId: 'c'.repeat(64), name: 'api' }],
    });
    const source = new TaskMetadataEndpoint({ baseUrl: tmds.url, log: memoryLog(), mapsTargetGroups: maps });
    const before = tmds.requests.length;
    const first = await source.task(TASK, id);
    expect(first).toEqual({ taskArn: TASK, serviceName: 'svc', tags: { 'ecs-a.lbName': TG }, tagsFrom: 'task', containerNames: ['web', 'api'] });
    expect(await source.task(TASK, id)).toBe(first);
    expect(tmds.requests.slice(before)).toEqual([`/v4/${id}/taskWithTags`]);
    source.retain(new Set());
    await source.task(TASK, id);
    expect(tmds.requests.length - before).toBe(2);
  });

  it('uses no tags when the endpoint describes another task than the container\'s label names, and says so once', async () => {
    const other = 'arn:aws:ecs:us-east-1:123456789012:task/default/ffffffffffffffffffffffffffffffff';
    const id = tmds.newId();
    // A container that points its metadata id at another task's, which is mapped to a group.
    tmds.setTask(id, { taskArn: other, serviceName: 'victim', tags: { 'ecs-a.lbName': TG }, containers: [{ dockerId: 'a'.repeat(64), name: 'web' }] });
    const log = memoryLog();
    const source = new TaskMetadataEndpoint({ baseUrl: tmds.url, log, mapsTargetGroups: maps });
    const before = tmds.requests.length;
    expect(await source.task(TASK, id)).toBeUndefined();
    expect(await source.task(TASK, id)).toBeUndefined();
    expect(tmds.requests.length - before).toBe(1);
    const warned = log.lines.filter((l) => l.fields?.event === 'task-metadata-mismatch');
    expect(warned).toHaveLength(1);
    expect(warned[0]?.fields).toMatchObject({ taskArn: TASK, answeredFor: other });
  });

  it('logs an unreachable endpoint once, and asks again only after the retry time', async () => {
    const closed = await startTaskMetadataStandIn();
    await closed.close();
    let now = 1_000_000;
    const log = memoryLog();
    let asked = 0;
    const counting: typeof fetch = (input, init) => {
      asked++;
      return fetch(input, init);
    };
    const probe = new TaskMetadataEndpoint({ baseUrl: closed.url, log, mapsTargetGroups: maps, now: () => now, retryMs: 60_000, fetch: counting });
    expect(await probe.task(TASK, 'id-00000001')).toBeUndefined();
    // Another task while the endpoint is down: not asked again before the retry time.
    expect(await probe.task(`${TASK}0`, 'id-00000002')).toBeUndefined();
    expect(asked).toBe(1);
    const warnings = log.lines.filter((l) => l.fields?.event === 'task-metadata-unavailable');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain(`task metadata endpoint ${closed.url} is unreachable`);
    expect(warnings[0]?.message).toContain('labels and the mapping file still apply');
    now += 61_000;
    // Still down: asked again, but the same cause is not logged again.
    expect(await probe.task(TASK, 'id-00000001')).toBeUndefined();
    expect(asked).toBe(2);
    expect(log.lines.filter((l) => l.fields?.event === 'task-metadata-unavailable')).toHaveLength(1);
  });

  it('says so when the ECS agent has no taskWithTags (an older agent)', async () => {
    const old = await startTaskMetadataStandIn({ withTags: false });
    try {
      const id = old.newId();
      old.setTask(id, { taskArn: TASK, containers: [] });
      const log = memoryLog();
      const source = new TaskMetadataEndpoint({ baseUrl: old.url, log, mapsTargetGroups: maps });
      expect(await source.task(TASK, id)).toBeUndefined();
      const line = log.lines.find((l) => l.fields?.event === 'task-metadata-unavailable');
      expect(line?.message).toContain(`${old.url}/v4/${id}/taskWithTags answered HTTP 404 (404 page not found)`);
      expect(line?.message).toContain(`tags of task ${TASK} are not read`);
    } finally {
      await old.close();
    }
  });

  it('warns when the ECS agent could not read the task\'s tags, and maps nothing from them', async () => {
    const id = tmds.newId();
    tmds.setTask(id, { taskArn: TASK, serviceName: 'svc', tagsError: { code: 'AccessDeniedException', message: 'not authorized to perform ecs:ListTagsForResource' }, containers: [{ dockerId: 'a'.repeat(64), name: 'web' }] });
    const log = memoryLog();
    const task = await new TaskMetadataEndpoint({ baseUrl: tmds.url, log, mapsTargetGroups: maps }).task(TASK, id);
    expect(task).toMatchObject({ tags: {}, tagsFrom: 'none', containerNames: ['web'] });
    expect(log.lines.find((l) => l.fields?.event === 'task-tags-unavailable')?.message).toContain('AccessDeniedException');
  });

  it.each<[string, Record<string, string>, Record<string, string> | Error, { tags: Record<string, string>; tagsFrom: string; asked: boolean }]>([
    ['task tags that map: the service is not asked', { 'ecs-a.lbName': TG }, { 'ecs-a.lbName': 'other' }, { tags: { 'ecs-a.lbName': TG }, tagsFrom: 'task', asked: false }],
    ['no mapping tag on the task: the service\'s own tags', { team: 'x' }, { 'ecs-anywhere-lb.target-group-arn': TG }, { tags: { 'ecs-anywhere-lb.target-group-arn': TG }, tagsFrom: 'service', asked: true }],
    ['the service has none either: the task\'s', { team: 'x' }, { owner: 'y' }, { tags: { team: 'x' }, tagsFrom: 'task', asked: true }],
    ['the service\'s tags cannot be read: the task\'s, and a warning', {}, new Error('ecs:ListTagsForResource failed (AccessDeniedException: no)'), { tags: {}, tagsFrom: 'none', asked: true }],
  ])('service tags (--read-service-tags): %s', async (_case, taskTags, serviceTags, expected) => {
    const id = tmds.newId();
    tmds.setTask(id, { taskArn: TASK, serviceName: 'svc', tags: taskTags, containers: [] });
    const asked: string[] = [];
    const log = memoryLog();
    const source = new TaskMetadataEndpoint({
      baseUrl: tmds.url, log, mapsTargetGroups: maps,
      serviceTags: async (arn) => {
        asked.push(arn);
        if (serviceTags instanceof Error) throw serviceTags;
        return serviceTags;
      },
    });
    expect(await source.task(TASK, id)).toMatchObject({ tags: expected.tags, tagsFrom: expected.tagsFrom });
    expect(asked).toEqual(expected.asked ? ['arn:aws:ecs:us-east-1:123456789012:service/default/svc'] : []);
    if (serviceTags instanceof Error) expect(log.lines.find((l) => l.fields?.event === 'service-tags-unavailable')?.message).toContain('grant ecs:ListTagsForResource');
  });
});

describe('serviceArnOf', () => {
  it.each<[string, { TaskARN: string; Cluster?: string; ServiceName?: string }, string | undefined]>([
    ['cluster ARN', { TaskARN: TASK, Cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod', ServiceName: 'web' }, 'arn:aws:ecs:us-east-1:123456789012:service/prod/web'],
    ['cluster name', { TaskARN: TASK, Cluster: 'prod', ServiceName: 'web' }, 'arn:aws:ecs:us-east-1:123456789012:service/prod/web'],
    ['cluster from the task ARN', { TaskARN: TASK, ServiceName: 'web' }, 'arn:aws:ecs:us-east-1:123456789012:service/default/web'],
    ['GovCloud', { TaskARN: 'arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task/c/abc', Cluster: 'c', ServiceName: 's' }, 'arn:aws-us-gov:ecs:us-gov-west-1:123456789012:service/c/s'],
    ['a task started outside a service', { TaskARN: TASK, Cluster: 'prod' }, undefined],
  ])('%s', (_case, task, expected) => {
    expect(serviceArnOf(task)).toBe(expected);
  });
});

describe('createServiceTagReader (real ECS client)', () => {
  it('calls ListTagsForResource once per service within the cache time, and names the error', async () => {
    const ecs = await startEcsTagsStandIn();
    try {
      const svc = 'arn:aws:ecs:us-east-1:123456789012:service/default/web';
      const denied = 'arn:aws:ecs:us-east-1:123456789012:service/default/denied';
      ecs.setTags(svc, { 'ecs-a.lbName': TG });
      ecs.deny(denied);
      const read = await createServiceTagReader({ credentials: async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }), endpoint: ecs.url });
      expect(await read(svc)).toEqual({ 'ecs-a.lbName': TG });
      expect(await read(svc)).toEqual({ 'ecs-a.lbName': TG });
      expect(ecs.calls).toEqual([{ target: 'AmazonEC2ContainerServiceV20141113.ListTagsForResource', resourceArn: svc }]);
      await expect(read(denied)).rejects.toThrow(/AccessDeniedException: User is not authorized/);
    } finally {
      await ecs.close();
    }
  });
});
