// The readiness gate for real: a gated ECS-like container's HEALTHCHECK asks the agent's
// /ready on the Docker bridge's gateway, so it turns Docker-healthy only once its target is
// healthy in the load balancer (as the agent read it), then stays healthy through an ELB API
// outage and a host address blip, until it stops. Other callers learn nothing about it, and a
// hostile container that holds every connection it can does not keep the others' answers away.
// The gate listens on a free port (port 0) of the engine's own bridge gateway: several runs
// can share the machine.
import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../support/agent-process.ts';
import { HOST_IP, createWorld, type World } from '../support/agent-world.ts';
import { defaultBridgeGateway, httpHealthCheckCommand } from '../support/ecs-deployment/index.ts';
import { sleep, waitFor } from '../support/wait.ts';

/** The hostile container's connection loops: more than the 128 connections the gate served in total before its per-source limit. */
const HOSTILE_SLOTS = 140;
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

/** One GET /ready over a fresh connection: the whole answer (or '' when the connection closed without one) and the time from connect() to close. */
function timedAsk(host: string, port: number): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = createConnection({ host, port }, () => socket.write('GET /ready HTTP/1.0\r\n\r\n'));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ text, ms: Date.now() - started }));
  });
}

/** The port the agent's gate listens on, from its log line. */
async function gatePort(agent: AgentProcess): Promise<number> {
  const line = await agent.waitForLog((l) => l.event === 'gate-listening', 'gate listening');
  expect(line.address).toBe(gateway);
  return Number(line.port);
}

describe('readiness gate', () => {
  it('a gated container turns healthy only after its target is healthy, stays healthy through an ELB outage and an address blip, and the gate tells nothing to others', async () => {
    const agent = world.startAgent({
      ECS_ANYWHERE_LB_HOST_IP: undefined, ECS_ANYWHERE_LB_INTERFACE: IFACE, ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: group,
      ECS_ANYWHERE_LB_READINESS_ADDRESS: `${gateway}:0`, ECS_ANYWHERE_LB_ADDRESS_CHECK_INTERVAL: '200ms',
    });
    await agent.ready();
    const port = await gatePort(agent);
    const url = `http://${gateway}:${port}/ready`;
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
    await waitFor(async () => (await c.healthStatus()) === 'healthy', { description: 'Docker-healthy through the gate', timeoutMs: 30_000, intervalMs: 200 });
    const open = await agent.waitForLog((l) => l.event === 'gate-open', 'gate-open line');
    expect(open.container).toBe(c.name);
    // Docker's own record of the checks: the gate answered 503 until the agent opened it, and the first check that passed ended after that.
    const openedAt = Date.parse(String(open.timestamp));
    const checks = ((await c.container.inspect()).State.Health?.Log ?? []).map((h) => ({ end: Date.parse(h.End), passed: h.ExitCode === 0 }));
    const beforeOpen = checks.filter((h) => h.end < openedAt);
    expect(beforeOpen.length).toBeGreaterThan(0);
    expect(beforeOpen.filter((h) => h.passed)).toEqual([]);
    expect(checks.find((h) => h.passed)?.end).toBeGreaterThanOrEqual(openedAt);

    // The host asking (not a container), and another container: 503, and nothing about the gated one.
    const fromHost = await fetch(url);
    expect(fromHost.status).toBe(503);
    expect(await fromHost.text()).toMatch(/^unknown caller/);
    const other = await world.startContainer({ family: 'curious', dockerLabels: {} });
    const asked = await other.exec(['wget', '-q', '-O', '-', url]);
    expect(asked.exitCode).not.toBe(0);
    // The whole answer, headers and body, as the other container sees it.
    const seen = await other.exec(['sh', '-c', `printf 'GET /ready HTTP/1.0\\r\\n\\r\\n' | nc ${gateway} ${port}`]);
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

  it('while one container holds as many idle and half-sent connections as it can, every other caller\'s GET /ready is answered, within 1 s', async () => {
    const agent = world.startAgent({ ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: group, ECS_ANYWHERE_LB_READINESS_ADDRESS: `${gateway}:0` });
    await agent.ready();
    const port = await gatePort(agent);
    const hostile = await world.startContainer({ family: 'hostile', dockerLabels: {} });
    const callers = [await world.startContainer({ family: 'caller-a', dockerLabels: {} }), await world.startContainer({ family: 'caller-b', dockerLabels: {} })];
    // HOSTILE_SLOTS loops, half idle and half sending a request's first line only, each holding its connection as long as the gate lets it and
    // opening the next every 30 s (the attack of issue 25, as cheap in forks as it can be, so that the callers' timing measures the gate,
    // not the machine's load). Together more connections than the gate used to serve in total.
    const slot = (send: string) => `while true; do echo >> /tmp/opened; { ${send} sleep 30; } | nc ${gateway} ${port} >/dev/null 2>&1; done`;
    const script = [
      `for i in $(seq ${HOSTILE_SLOTS / 2}); do`,
      `  (${slot('')}) </dev/null >/dev/null 2>&1 &`,
      `  (${slot(`printf 'GET /ready HTTP/1.1\\r\\nHost: gate\\r\\n';`)}) </dev/null >/dev/null 2>&1 &`,
      // Spread over about 3 s: on a shared 2-core machine a burst of 400 forks would delay every process, the callers' included.
      '  usleep 40000',
      'done',
    ].join('\n');
    expect((await hostile.exec(['sh', '-c', script])).exitCode).toBe(0);
    // Every slot has opened its connection: the gate now holds what it lets the hostile container hold.
    await waitFor(async () => Number((await hostile.exec(['sh', '-c', 'grep -c "" /tmp/opened 2>/dev/null || echo 0'])).stdout.trim()) >= HOSTILE_SLOTS,
      { description: 'the hostile container opened every slot', timeoutMs: 20_000, intervalMs: 250 });
    for (let round = 0; round < 5; round++) {
      // Each container is answered (twice: see below why not every round) (without the limits it got no answer at all: the gate closed the connection). `timeout 10` only keeps a
      // hang from stalling the test; it is no measure of the gate: on the shared engine's bridge a container's SYN sometimes waits for its
      // retransmission (1 s, then 3 s; seen with no hostile container at all, once past 10 s at load 20), and a `docker exec` with its forks
      // took up to 2.3 s at load 13. The gate's own time is what the host's timed request below measures, every round.
      for (const caller of round < 2 ? callers : []) {
        const asked = await caller.exec(['sh', '-c', `printf 'GET /ready HTTP/1.0\\r\\n\\r\\n' | timeout 10 nc ${gateway} ${port}`]);
        expect(asked.stdout, `round ${round}, ${caller.name}: no answer (exit ${asked.exitCode}, stderr ${asked.stderr})`).toMatch(/^HTTP\/1\.[01] 503 /);
        expect(asked.stdout).toMatch(/\r\nconnection: close\r\n/i);
      }
      // The time to the answer, timed by a caller that needs no process to start: the host, from the gateway address (one more source).
      const { text, ms } = await timedAsk(gateway, port);
      expect(text, `round ${round}: the host's request got no answer`).toMatch(/^HTTP\/1\.[01] 503 /);
      expect(ms, `round ${round}: answered in ${ms} ms`).toBeLessThan(1_000);
    }
    await hostile.remove();
    for (const caller of callers) await caller.remove();
    await agent.stop('SIGTERM');
  }, 90_000);
});
