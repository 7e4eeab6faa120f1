// Service-level mapping end to end: real Docker containers of one ECS-like task, with no
// labels, whose task carries the EventBridge + Lambda solution's `ecs-a.lbName` tag (two ARNs
// for two containers) as the task metadata endpoint stand-in serves it; the agent process
// registers each container in its own group, and a new task without the tag joins nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import type { AgentProcess } from '../support/agent-process.ts';
import { newTaskArn, type EcsContainer } from '../support/ecs-container.ts';
import { startTaskMetadataStandIn, type StandInTask, type TaskMetadataStandIn } from '../support/task-metadata-stand-in.ts';
import { startEcsTagsStandIn } from '../support/ecs-tags-stand-in.ts';

let world: World;
let tmds: TaskMetadataStandIn;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  [world, tmds] = await Promise.all([createWorld({ groups: ['front', 'back'] }), startTaskMetadataStandIn()]);
});
afterEach(async () => {
  await agent?.stop('SIGTERM');
  agent = undefined;
});
afterAll(async () => {
  await world?.close();
  await tmds?.close();
});

/**
 * Starts the containers of one task the way the ECS agent does: each gets its own metadata
 * id in ECS_CONTAINER_METADATA_URI_V4, and the endpoint knows the task before they run.
 */
async function startTask(containers: { name: string; labels?: Record<string, string> }[], tags: Record<string, string>): Promise<{ taskArn: string; byName: Record<string, EcsContainer> }> {
  const taskArn = newTaskArn('default', world.elb.region);
  const ids = containers.map(() => tmds.newId());
  const created = await Promise.all(containers.map((c, i) => world.startContainer({ family: 'shop', containerName: c.name, taskArn, env: [tmds.envFor(ids[i]!)], start: false, ...(c.labels ? { dockerLabels: c.labels } : {}) })));
  const task: StandInTask = { taskArn, family: 'shop', serviceName: 'shop', tags, containers: created.map((c, i) => ({ dockerId: c.id, name: containers[i]!.name, dockerName: c.name, ports: [{ containerPort: 8080, hostPort: 0 }] })) };
  ids.forEach((id) => tmds.setTask(id, task));
  await Promise.all(created.map((c) => c.start()));
  return { taskArn, byName: Object.fromEntries(created.map((c, i) => [containers[i]!.name, c])) };
}

describe('service tags from the task metadata endpoint', () => {
  it('puts each container of a task tagged ecs-a.lbName into its group; a new task without the tag joins nothing', async () => {
    agent = world.startAgent({ ECS_ANYWHERE_LB_TASK_METADATA_ENDPOINT: tmds.url });
    await agent.ready();
    const { front, back } = world.groups as { front: string; back: string };

    // "web" and "api": sorted by name, api is first and takes the first ARN.
    const tagged = await startTask([{ name: 'web' }, { name: 'api' }], { 'ecs-a.lbName': `${front} ${back}` });
    const api = `${HOST_IP}:${tagged.byName.api!.hostPort(8080)}`;
    const web = `${HOST_IP}:${tagged.byName.web!.hostPort(8080)}`;
    await world.waitForTargets('front', [api], 'api (first by name) in the first ARN\'s group');
    await world.waitForTargets('back', [web], 'web (second by name) in the second ARN\'s group');
    const read = await agent.waitForLog((l) => l.event === 'task-metadata' && l.taskArn === tagged.taskArn, 'the task read from the endpoint');
    expect(read).toMatchObject({ service: 'shop', tagsFrom: 'task' });
    expect(tmds.requests.filter((p) => p.endsWith('/taskWithTags'))).toHaveLength(1);

    // The tag removed from the service: ECS starts a new task without it. Its labelled sentinel
    // registers in the same pass that reads the new task, so the untagged container had its chance.
    const untagged = await startTask([{ name: 'web' }, { name: 'sentinel', labels: targetLabels(front) }], { team: 'shop' });
    await Promise.all(Object.values(tagged.byName).map((c) => c.remove()));
    const sentinel = `${HOST_IP}:${untagged.byName.sentinel!.hostPort(8080)}`;
    await world.waitForTargets('front', [sentinel], 'old task gone, only the labelled sentinel of the new task in front');
    await world.waitForTargets('back', [], 'old task gone, the untagged container joins nothing');
    await agent.waitForLog((l) => l.event === 'task-metadata' && l.taskArn === untagged.taskArn, 'the new task read from the endpoint');
    expect(world.targets('back')).toEqual([]);
    await Promise.all(Object.values(untagged.byName).map((c) => c.remove()));
    await world.waitForTargets('front', [], 'the sentinel gone too');
    // Six containers started and removed on the shared engine: room for a loaded machine.
  }, 120_000);

  it('with --read-service-tags, maps a task whose service does not propagate its tags by the service\'s own tags', async () => {
    const ecs = await startEcsTagsStandIn();
    try {
      const { front } = world.groups as { front: string };
      agent = world.startAgent({ ECS_ANYWHERE_LB_TASK_METADATA_ENDPOINT: tmds.url, ECS_ANYWHERE_LB_READ_SERVICE_TAGS: 'true', AWS_ENDPOINT_URL_ECS: ecs.url });
      await agent.ready();
      // The service "shop" of cluster "default" (the stand-in's cluster ARN) carries the tag; its tasks do not.
      const service = `arn:aws:ecs:${world.elb.region}:123456789012:service/default/shop`;
      ecs.setTags(service, { 'ecs-anywhere-lb.target-group-arn': front });
      const task = await startTask([{ name: 'web' }], {});
      await world.waitForTargets('front', [`${HOST_IP}:${task.byName.web!.hostPort(8080)}`], 'registered by the service\'s own tag');
      expect(ecs.calls.map((c) => c.resourceArn)).toEqual([service]);
      const read = await agent.waitForLog((l) => l.event === 'task-metadata' && l.taskArn === task.taskArn, 'the task read');
      expect(read).toMatchObject({ service: 'shop', tagsFrom: 'service' });
      await task.byName.web!.remove();
      await world.waitForTargets('front', [], 'gone with its container');
    } finally {
      await ecs.close();
    }
  });
});
