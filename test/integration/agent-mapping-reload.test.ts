// The mapping file changing under the real agent process: a good edit moves a mapped
// container to another group at once; an edit into garbage is logged, naming the file, and
// keeps the last good mapping (the container stays registered); the agent keeps running,
// and a restart with the file still damaged runs with the last good version it kept.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOREIGN_IP, HOST_IP, createWorld, type World } from '../support/agent-world.ts';
import type { AgentProcess } from '../support/agent-process.ts';
import { sleep } from '../support/wait.ts';
import { uniqueFamily } from '../support/ecs-deployment/index.ts';

const LIVE = ['initial', 'healthy', 'unhealthy'];
let world: World;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  world = await createWorld({ groups: ['map-a', 'map-b'] });
  world.elb.registerForeign(world.groups['map-a']!, [{ id: FOREIGN_IP, port: 31000, availabilityZone: 'all' }]);
});

afterAll(async () => {
  await agent?.stop('SIGKILL');
  await world?.close();
});

/** Saves the mapping file as an editor does: a new file renamed over the old one. */
function save(path: string, text: string): void {
  writeFileSync(`${path}.swp`, text);
  renameSync(`${path}.swp`, path);
}

// A family of this run's own: the engine may be shared, and a mapping rule takes every container of its family.
const FAMILY = uniqueFamily('legacy');
const mapTo = (group: string) => JSON.stringify({ mappings: [{ family: FAMILY, containerName: 'app', targetGroupArn: world.groups[group] }] });

describe('mapping file reload', () => {
  it('follows a good edit, keeps the last good mapping through a bad one, and keeps running', async () => {
    const path = join(world.stateDir, 'mapping.json');
    save(path, mapTo('map-a'));
    const legacy = await world.startContainer({ family: FAMILY });
    const target = `${HOST_IP}:${legacy.hostPort()}`;
    agent = world.startAgent({ ECS_ANYWHERE_LB_MAPPING_FILE: path });
    await agent.ready();
    await world.waitForTargets('map-a', [target, `${FOREIGN_IP}:31000`], 'mapped container registered', 20_000, LIVE);

    // Garbage (a half-saved edit): logged as an error naming the file; nothing moves.
    save(path, `{"mappings": [{"family": "${FAMILY}", "contai`);
    const failed = await agent.waitForLog((l) => l.event === 'mapping-reload-failed', 'reload failure logged');
    expect(failed.level).toBe('error');
    expect(failed.message).toContain(`cannot reload the mapping file ${path}: `);
    expect(failed.message).toContain('keeping the last good mapping (1 rule(s))');
    await sleep(1000);
    expect(world.targets('map-a', LIVE)).toEqual([`${FOREIGN_IP}:31000`, target].sort());
    expect(world.targets('map-b', LIVE)).toEqual([]);

    // A good edit: the container moves to the other group, without waiting for a periodic pass (60 s here).
    save(path, mapTo('map-b'));
    await agent.waitForLog((l) => l.event === 'mapping-reloaded', 'reload logged');
    await world.waitForTargets('map-b', [target], 'moved to the newly mapped group', 10_000, LIVE);
    await world.waitForTargets('map-a', [`${FOREIGN_IP}:31000`], 'left the group no longer mapped', 10_000, LIVE);
    expect(agent.find((l) => l.level === 'error' && l.event !== 'mapping-reload-failed')).toEqual([]);
    expect(await Promise.race([agent.exited.then(() => 'exited'), sleep(10).then(() => 'running')])).toBe('running');

    // Killed, and restarted while the file is damaged: it runs with the last good version (map-b), not exit 78.
    await agent.stop('SIGKILL');
    save(path, 'garbage');
    agent = world.startAgent({ ECS_ANYWHERE_LB_MAPPING_FILE: path });
    const fallback = await agent.waitForLog((l) => l.event === 'mapping-fallback', 'fallback logged');
    expect(fallback.level).toBe('error');
    expect(fallback.message).toContain(`${path} is not valid JSON`);
    expect(fallback.message).toContain('running with its last good version (1 rule(s)');
    await agent.ready();
    await sleep(500);
    expect(world.targets('map-b', LIVE)).toEqual([target]);
    // Fixed: taken at once.
    save(path, mapTo('map-a'));
    await world.waitForTargets('map-a', [target, `${FOREIGN_IP}:31000`], 'back in the first group once the file is fixed', 10_000, LIVE);
    await legacy.remove();
  });
});
