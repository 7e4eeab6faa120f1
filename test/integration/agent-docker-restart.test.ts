// The Docker engine going away under a running agent: a private dockerd (never the shared
// one) is stopped and started again while containers change, and an event stream is cut
// by a proxy without restarting the engine. The agent must survive, reconnect with
// backoff, resume events with `since`, resync, and leave the group exactly right.
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FOREIGN_IP, HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import type { AgentProcess } from '../support/agent-process.ts';
import { connectDocker } from '../support/docker-engine.ts';
import { startEcsContainer, type EcsContainer } from '../support/ecs-container.ts';
import { startRestartableEngine, type RestartableEngine } from '../support/private-engine.ts';
import { startSocketProxy, type SocketProxy } from '../support/socket-proxy.ts';
import { ensureTestImage } from '../support/test-image.ts';
import { sleep, waitFor } from '../support/wait.ts';

const LIVE = ['initial', 'healthy', 'unhealthy'];
const foreign = `${FOREIGN_IP}:31000`;
const root = typeof process.getuid !== 'function' || process.getuid() === 0;

let world: World;
let engine: RestartableEngine;
let docker: Docker;
let proxy: SocketProxy | undefined;
let agent: AgentProcess | undefined;
const containers: EcsContainer[] = [];

beforeAll(async () => {
  if (!root) return;
  engine = await startRestartableEngine();
  docker = connectDocker(engine.dockerHost);
  await ensureTestImage(docker);
  world = await createWorld({ groups: ['restart'] });
  world.elb.registerForeign(world.groups.restart!, [{ id: FOREIGN_IP, port: 31000, availabilityZone: 'all' }]);
});

afterEach(async () => {
  await agent?.stop('SIGKILL');
  agent = undefined;
  await proxy?.close();
  proxy = undefined;
  await Promise.all(containers.splice(0).map((c) => c.remove()));
});

afterAll(async () => {
  await world?.close();
  await engine?.teardown();
});

async function start(family: string): Promise<EcsContainer> {
  const c = await startEcsContainer(docker, { family, dockerLabels: targetLabels(world.groups.restart!) });
  containers.push(c);
  return c;
}
const ours = (c: EcsContainer) => `${HOST_IP}:${c.hostPort()}`;
const startAgent = (dockerHost: string) => world.startAgent({ DOCKER_HOST: dockerHost });
const events = (a: AgentProcess, name: string) => a.find((l) => l.event === 'docker-event' && String(l.message).endsWith(name)).map((l) => l.action);

describe.skipIf(!root)(`Docker engine restarts and stream loss${root ? '' : ' (skipped: a private dockerd needs root)'}`, () => {
  it('survives a dockerd restart: backs off while it is down, reconnects, resyncs, and the group ends exactly right', async () => {
    const a = await start('gone'); // no restart policy: does not come back
    const a2 = await start('gone'); // a third port, so that at least one is not reused after the restart
    const r = await start('back'); // restart policy always: comes back, maybe on a new host port
    await r.container.update({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
    agent = startAgent(engine.dockerHost);
    await agent.ready();
    await world.waitForTargets('restart', [ours(a), ours(a2), ours(r), foreign].sort(), 'all registered', 15_000, LIVE);
    const before = [ours(a), ours(a2), ours(r)];

    const markDown = world.elb.requestLog.length;
    const stopMs = await engine.stop();
    const downAt = Date.now();
    await agent.waitForLog((l) => l.event === 'docker-disconnected', 'event stream loss noticed', 5_000);
    await sleep(6_000);
    // Down for 6 s: the agent runs on, retrying with backoff, not in a tight loop.
    expect(agent.pid).toBeDefined();
    expect(await Promise.race([agent.exited.then(() => 'exited'), sleep(10).then(() => 'running')])).toBe('running');
    const attempts = agent.find((l) => l.event === 'docker-disconnected');
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.length).toBeLessThanOrEqual(12);
    expect(Math.max(...attempts.map((l) => Number(l.retryInMs)))).toBeGreaterThanOrEqual(1_000);
    expect(agent.find((l) => l.event === 'docker-disconnected' && l.level === 'warn').length).toBeLessThanOrEqual(2);
    expect(agent.find((l) => l.level === 'error')).toEqual([]);
    const warnings = agent.find((l) => l.level === 'warn' && Date.parse(String(l.timestamp)) >= downAt);
    expect(warnings.map((l) => l.message).length, JSON.stringify(warnings.map((l) => l.message))).toBeLessThanOrEqual(2);

    // Unreachable Docker is not "no containers": nothing was deregistered for want of a listing.
    const changesWhileDown = world.elb.requestLog.slice(markDown).filter((e) => e.action === 'RegisterTargets' || e.action === 'DeregisterTargets');
    const startMs = await engine.start();
    const upAt = Date.now();
    const b = await start('after'); // created right after the restart
    const reconnected = await agent.waitForLog((l) => l.event === 'docker-reconnected', 'reconnected after the engine came back', 10_000);
    const reconnectMs = Date.parse(String(reconnected.timestamp)) - upAt;
    await waitFor(async () => (await r.inspect()).State.Running, { description: 'restart-policy container running again', timeoutMs: 20_000 });
    await r.refresh();
    await world.waitForTargets('restart', [ours(r), ours(b), foreign].sort(), 'resynced: A gone, R on its current port, B added', 20_000, LIVE);
    const settledMs = Date.now() - upAt;
    console.log(`[agent-docker-restart] dockerd stopped in ${stopMs} ms, down ${upAt - downAt} ms with ${attempts.length} reconnect attempts; ` +
      `started in ${startMs} ms; agent reconnected ${reconnectMs} ms after the engine answered; group exact ${settledMs} ms after; ` +
      `R's port ${before[2]} -> ${ours(r)}; ELB changes while down: ${JSON.stringify(changesWhileDown.map((e) => [e.action, e.targets]))}`);
    expect((await a.inspect()).State.Running).toBe(false);
    // Ports are reused: R may now hold A's old port. Whatever is not in use any more was deregistered.
    const stale = before.filter((t) => t !== ours(r) && t !== ours(b));
    expect(stale.length).toBeGreaterThanOrEqual(1);
    for (const gone of stale) {
      expect(world.snapshot('restart').filter((t) => `${t.id}:${t.port}` === gone && t.state !== 'draining')).toEqual([]);
      // The log line follows the call's answer, which the endpoint's state can show first: wait for it, then count.
      await agent.waitForLog((l) => l.event === 'deregistered' && l.target === gone, `deregistration line of ${gone}`, 10_000);
      expect(agent.find((l) => l.event === 'deregistered' && l.target === gone)).toHaveLength(1);
    }
    expect(world.elb.requestLog.filter((e) => (e.targets ?? []).some((t) => t.id === FOREIGN_IP))).toEqual([]);
    await Promise.all([a, a2, r, b].map((c) => c.remove()));
    await world.waitForTargets('restart', [foreign], 'cleaned up', 15_000, LIVE);
  });

  it('resumes a cut event stream with `since`: events in the gap are replayed, not missed', async () => {
    proxy = await startSocketProxy(join(engine.dir, 'proxy.sock'), engine.socketPath);
    const d = await start('cut-stops');
    agent = startAgent(proxy.dockerHost);
    await agent.ready();
    const c = await start('cut-stays'); // an event seen before the cut: the resume point
    await world.waitForTargets('restart', [ours(c), ours(d), foreign].sort(), 'registered', 15_000, LIVE);

    proxy.cut();
    await agent.waitForLog((l) => l.event === 'docker-disconnected', 'event stream loss noticed', 5_000);
    // In the gap: one container stops, another starts.
    await d.stop(5);
    const e = await start('cut-new');
    const cutEnded = Date.now();
    proxy.restore();
    const reconnected = await agent.waitForLog((l) => l.event === 'docker-reconnected', 'reconnected', 10_000);
    await world.waitForTargets('restart', [ours(c), ours(e), foreign].sort(), 'resynced after the gap', 15_000, LIVE);

    // The reconnect asked for events since the last one seen, and got the gap's events.
    const since = String(reconnected.since);
    expect(since).toMatch(/^\d+\.\d{9}$/);
    const lastSeen = agent.find((l) => l.event === 'docker-event' && String(l.message).endsWith(c.name)).at(-1);
    expect(lastSeen, 'the start event of the container started before the cut').toBeDefined();
    const resume = proxy.requests.find((q) => q.line.includes('/events?') && q.line.includes(`since=${since}`));
    expect(resume, `an events request with since=${since}; saw ${JSON.stringify(proxy.requests.map((q) => q.line))}`).toBeDefined();
    expect(Number(since) * 1000).toBeLessThan(cutEnded);
    await agent.waitForLog((l) => l.event === 'docker-event' && l.action === 'start' && String(l.message).endsWith(e.name), 'the gap\'s start event replayed', 5_000);
    expect(events(agent, d.name)).toEqual(expect.arrayContaining(['kill', 'die', 'stop']));
    console.log(`[agent-docker-restart] stream cut: reconnected ${Date.parse(String(reconnected.timestamp)) - cutEnded} ms after restore, since=${since}`);
    await Promise.all([c.remove(), d.remove(), e.remove()]);
    await world.waitForTargets('restart', [foreign], 'cleaned up', 15_000, LIVE);
  });

  it('backs off from an engine that accepts the event subscription and drops it at once', async () => {
    proxy = await startSocketProxy(join(engine.dir, 'proxy.sock'), engine.socketPath);
    agent = startAgent(proxy.dockerHost);
    await agent.ready();
    const eventRequests = () => proxy?.requests.filter((q) => q.line.includes('/events?')).length ?? 0;
    proxy.dropEventStreams(true);
    proxy.cut(); // break the current stream; its reconnects now get dropped right after the headers
    proxy.restore();
    const before = eventRequests();
    await sleep(6_000);
    const flaps = eventRequests() - before;
    // Full-jitter backoff from 0.5 s to a 5 s cap: a handful of attempts in 6 s, not dozens.
    expect(flaps).toBeGreaterThanOrEqual(2);
    expect(flaps).toBeLessThanOrEqual(9);
    const attempts = agent.find((l) => l.event === 'docker-disconnected').map((l) => Number(l.attempt));
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(3);

    proxy.dropEventStreams(false);
    const c = await start('after-flaps');
    await world.waitForTargets('restart', [ours(c), foreign].sort(), 'registered once the stream holds again', 15_000, LIVE);
    await agent.waitForLog((l) => l.event === 'docker-event' && l.action === 'start' && String(l.message).endsWith(c.name), 'events flow again', 10_000);
    console.log(`[agent-docker-restart] flapping stream: ${flaps} subscription attempts in 6 s`);
    expect(await Promise.race([agent.exited.then(() => 'exited'), sleep(10).then(() => 'running')])).toBe('running');
  });
});
