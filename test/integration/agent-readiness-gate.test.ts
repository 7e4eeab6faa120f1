// The readiness gate for real: a gated ECS-like container's HEALTHCHECK asks the agent's
// /ready on the Docker bridge's gateway, so it turns Docker-healthy only once its target is
// healthy in the load balancer (as the agent read it), then stays healthy through an ELB API
// outage and a host address blip, until it stops. Other callers learn nothing about it.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_IP, createWorld, type World } from '../support/agent-world.ts';
import { defaultBridgeGateway, httpHealthCheckCommand } from '../support/ecs-deployment/index.ts';
import { sleep, waitFor } from '../support/wait.ts';

const IFACE = `ecslbg${process.pid % 100_000}`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
let world: World;
let group: string;
let gateway: string;

beforeAll(async () => {
  world = await createWorld({ groups: [] });
  // ALB's shortest checks: the agent reads the group 2 x 5 s after the registration.
  group = await world.elb.createTargetGroup({ name: 'gate', port: 80, healthCheckPath: '/', healthCheckIntervalSeconds: 5, healthCheckTimeoutSeconds: 2, healthyThresholdCount: 2, unhealthyThresholdCount: 2 });
  gateway = await defaultBridgeGateway(world.docker);
  // The host's "VPN" address on an interface of its own, so that the test can take it away.
  // A veth pair (no dummy interfaces on every kernel); the peer is never used.
  ip('link', 'add', IFACE, 'type', 'veth', 'peer', 'name', `${IFACE}p`);
  ip('addr', 'add', `${HOST_IP}/32`, 'dev', IFACE);
  ip('link', 'set', IFACE, 'up');
  ip('link', 'set', `${IFACE}p`, 'up');
});

afterAll(async () => {
  await world?.close();
  try {
    ip('link', 'del', IFACE);
  } catch {
    // already gone
  }
});

describe('readiness gate', () => {
  it('a gated container turns healthy only after its target is healthy, stays healthy through an ELB outage and an address blip, and the gate tells nothing to others', async () => {
    const agent = world.startAgent({
      ECS_ANYWHERE_LB_HOST_IP: undefined, ECS_ANYWHERE_LB_INTERFACE: IFACE, ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: group,
      ECS_ANYWHERE_LB_READINESS_ADDRESS: 'auto', ECS_ANYWHERE_LB_ADDRESS_CHECK_INTERVAL: '200ms',
    });
    await agent.ready();
    await agent.waitForLog((l) => l.event === 'gate-listening', 'gate listening');
    const url = `http://${gateway}:9465/ready`;
    const c = await world.startContainer({
      family: 'gated',
      dockerLabels: { 'ecs-anywhere-lb.target-group-arn': group, 'ecs-anywhere-lb.readiness-gate': 'true' },
      healthcheck: { command: httpHealthCheckCommand(url), intervalMs: 500, timeoutMs: 2000, retries: 3, startPeriodMs: 60_000 },
    });
    const target = `${HOST_IP}:${c.hostPort()}`;
    // Registered while Docker still says "starting": the gate cannot wait for the health that waits for it.
    await world.waitForTargets(group, [target], 'gated container registered at once', 10_000);
    expect(await c.healthStatus()).toBe('starting');
    // The load balancer finds it healthy within a second; Docker health follows only after the agent read it so.
    await world.waitForTargets(group, [target], 'target healthy in the group', 10_000, ['healthy']);
    const lbHealthyAt = Date.now();
    expect(await c.healthStatus()).toBe('starting');
    await waitFor(async () => (await c.healthStatus()) === 'healthy', { description: 'Docker-healthy through the gate', timeoutMs: 30_000, intervalMs: 200 });
    const dockerHealthyAt = Date.now();
    expect(dockerHealthyAt).toBeGreaterThan(lbHealthyAt);
    const open = await agent.waitForLog((l) => l.event === 'gate-open', 'gate-open line');
    expect(open.container).toBe(c.name);

    // The host asking (not a container), and another container: 503, and nothing about the gated one.
    const fromHost = await fetch(url);
    expect(fromHost.status).toBe(503);
    expect(await fromHost.text()).toMatch(/^unknown caller/);
    const other = await world.startContainer({ family: 'curious', dockerLabels: {} });
    const asked = await other.exec(['wget', '-q', '-O', '-', url]);
    expect(asked.exitCode).not.toBe(0);
    // The whole answer, headers and body, as the other container sees it.
    const seen = await other.exec(['sh', '-c', `printf 'GET /ready HTTP/1.0\\r\\n\\r\\n' | nc ${gateway} 9465`]);
    expect(seen.stdout).toMatch(/^HTTP\/1\.[01] 503/);
    expect(seen.stdout).toMatch(/no target: this container is not mapped to a target group/);
    expect(seen.stdout).not.toContain(String(c.hostPort()));
    expect(seen.stdout).not.toContain(c.name);
    expect(seen.stdout).not.toContain(HOST_IP);

    // An ELB API outage and an address blip: the gate stays open (latched), Docker health stays healthy.
    world.elb.setFaults({ serviceUnavailable: 1 });
    ip('addr', 'del', `${HOST_IP}/32`, 'dev', IFACE);
    await agent.waitForLog((l) => l.event === 'address' && typeof l.problem === 'string', 'address gone');
    const until = Date.now() + 4_000;
    while (Date.now() < until) {
      expect(await c.healthStatus()).toBe('healthy');
      await sleep(250);
    }
    ip('addr', 'add', `${HOST_IP}/32`, 'dev', IFACE);
    world.elb.clearFaults();
    await agent.waitForLog((l) => l.event === 'address' && l.address === HOST_IP && l.message.startsWith('host address changed'), 'address back');
    expect(await c.healthStatus()).toBe('healthy');
    expect(world.targets(group, ['initial', 'healthy', 'unhealthy'])).toEqual([target]);

    // Stopping closes the gate and deregisters.
    await c.stop(2);
    await world.waitForTargets(group, [], 'deregistered at stop', 10_000, ['initial', 'healthy', 'unhealthy']);
    await other.remove();
    await c.remove();
    await agent.stop('SIGTERM');
  }, 90_000);
});
