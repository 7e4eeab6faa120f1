// A group with cross-zone load balancing off refuses AvailabilityZone=all for the host's
// off-VPC address (the local endpoint refuses it as AWS does). The agent, given no zone
// flag, registers the target in a zone of the group's load balancer instead, remembers it in
// its state, and a restarted agent goes straight to that zone.
import { DeregisterTargetsCommand, ModifyTargetGroupAttributesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import type { AgentProcess } from '../support/agent-process.ts';
import { createTestClient } from '../support/local-elbv2/test-client.ts';

let world: World;
let agent: AgentProcess | undefined;
const ZONES = ['us-east-1b', 'us-east-1c'];

beforeAll(async () => {
  world = await createWorld({ groups: ['zonal'] });
  await createTestClient(world.elb).send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: world.groups.zonal, Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'false' }] }));
  world.elb.createLoadBalancer({ name: 'zonal-alb', zones: ZONES, targetGroupArns: [world.groups.zonal!] });
});
afterEach(async () => {
  await agent?.stop('SIGTERM');
  agent = undefined;
});
afterAll(async () => {
  await world?.close();
});

const registrations = () => world.elb.requestLog.filter((e) => e.action === 'RegisterTargets');

describe('zones without a manual step', () => {
  it('registers in a zone of the load balancer when the group refuses all, and remembers it', async () => {
    const c = await world.startContainer({ family: 'zonal', dockerLabels: targetLabels(world.groups.zonal!) });
    const target = `${HOST_IP}:${c.hostPort()}`;
    world.elb.clearRequestLog();
    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('zonal', [target], 'registered without any zone flag');
    const zone = world.snapshot('zonal')[0]?.availabilityZone;
    expect(ZONES).toContain(zone);
    // One refused call with `all`, then the zone.
    expect(registrations().map((e) => [e.errorCode ?? 'ok', e.targets?.[0]?.az])).toEqual([['ValidationError', 'all'], ['ok', zone]]);
    const chosen = await agent.waitForLog((l) => l.event === 'zone-chosen', 'zone choice logged');
    expect(chosen).toMatchObject({ targetGroupArn: world.groups.zonal, availabilityZone: zone, zones: ZONES });
    const state = JSON.parse(readFileSync(join(world.stateDir, 'state.json'), 'utf8')) as { groupZones?: Record<string, string> };
    expect(state.groupZones).toEqual({ [world.groups.zonal!]: zone });

    // Restarted, with the target gone meanwhile: straight to the remembered zone.
    await agent.stop('SIGTERM');
    await createTestClient(world.elb).send(new DeregisterTargetsCommand({ TargetGroupArn: world.groups.zonal, Targets: [{ Id: HOST_IP, Port: c.hostPort(), AvailabilityZone: zone }] }));
    await world.waitForTargets('zonal', [], 'deregistered by hand');
    world.elb.clearRequestLog();
    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('zonal', [target], 're-registered after the restart');
    expect(registrations().map((e) => [e.errorCode ?? 'ok', e.targets?.[0]?.az])).toEqual([['ok', zone]]);
  });
});
