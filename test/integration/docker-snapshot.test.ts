// The two ways the agent reads a container, against the real engine: a listing entry and an
// inspect must give the same snapshot (a pass mixes both: the event's container from its own
// inspect, the others from the last listing).
import Docker from 'dockerode';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { snapshotFromInspect, snapshotFromList, inspectDetails } from '../../agent/docker/container-snapshot.ts';
import { freeTcpPort, removeTestContainers, startEcsContainer, type EcsContainer } from '../support/ecs-container.ts';

const docker = new Docker();
const runId = inject('testRunId');
const started: EcsContainer[] = [];
// Host network mode binds on the host itself: ports nothing else holds (not fixed numbers another run may hold too).
const hostPorts = [await freeTcpPort()];
while (hostPorts.length < 2) hostPorts.push(...[await freeTcpPort()].filter((p) => !hostPorts.includes(p)));

afterAll(async () => {
  await Promise.all(started.map((c) => c.remove()));
  await removeTestContainers(docker, { runId, label: 'ecslb-snapshot-test=1' }).catch(() => undefined);
});

async function both(c: EcsContainer) {
  const [info] = await docker.listContainers({ all: false, filters: JSON.stringify({ id: [c.id] }) });
  const inspect = await c.inspect();
  return { fromList: snapshotFromList(info!, inspectDetails(inspect)), fromInspect: snapshotFromInspect(inspect) };
}

describe('container snapshots from a listing and from an inspect', () => {
  it.each<[string, Parameters<typeof startEcsContainer>[1]]>([
    ['bridge, two published ports', { ports: [8080, 9090] }],
    ['bridge, a port bound to one host address', { ports: [{ containerPort: 8080, hostIp: '127.0.0.1' }] }],
    ['host network mode, exposed ports and the ECS metadata URI', { networkMode: 'host', ports: hostPorts, env: ['ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/a1b2c3d4-1234-5678-9abc-def012345678'] }],
    ['with a HEALTHCHECK', { healthcheck: true }],
  ])('%s', async (_case, options) => {
    const c = await startEcsContainer(docker, { runId, family: 'snapshot', dockerLabels: { 'ecslb-snapshot-test': '1' }, ...options });
    started.push(c);
    if (options?.healthcheck) await c.waitForHealth('healthy');
    const { fromList, fromInspect } = await both(c);
    expect(fromInspect).toBeDefined();
    const sorted = <T extends { ports: readonly unknown[] }>(s: T) => ({ ...s, ports: [...s.ports].map((p) => JSON.stringify(p)).sort() });
    expect(sorted(fromInspect!)).toStrictEqual(sorted(fromList));
    expect(fromList.running).toBe(true);
    if (options?.networkMode === 'host') expect(fromList.metadataId).toBe('a1b2c3d4-1234-5678-9abc-def012345678');
  });

  it('an inspect of a stopped container gives no snapshot (the listing leaves it out too)', async () => {
    const c = await startEcsContainer(docker, { runId, family: 'snapshot', dockerLabels: { 'ecslb-snapshot-test': '1' } });
    started.push(c);
    await c.stop(1);
    expect(snapshotFromInspect(await c.inspect())).toBeUndefined();
  });
});
