// The Docker test harness itself, against the real engine: if these pass, containers
// built by test/support look to the agent like the ones the ECS agent creates.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  cleanupLeftoverEngines,
  connectDocker,
  pingDocker,
  startDockerEngine,
} from '../support/docker-engine.ts';
import {
  ECS_LABELS,
  TEST_CONTAINER_LABEL,
  TEST_RUN_LABEL,
  freeTcpPort,
  randomHex,
  removeTestContainers,
  startEcsContainer,
  startPlainContainer,
} from '../support/ecs-container.ts';
import { TEST_IMAGE, ensureTestImage } from '../support/test-image.ts';
import { sleep, waitFor } from '../support/wait.ts';

const docker = connectDocker(inject('dockerHost'));
// Every container of this file carries this label, so the cleanup test can prove it.
const FILE_LABEL = 'ecslb-harness-test.file';
const fileId = randomHex(8);
const family = `harness${fileId}`;
const dockerLabels = { [FILE_LABEL]: fileId };

async function body(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

afterAll(async () => {
  await removeTestContainers(docker, { label: `${FILE_LABEL}=${fileId}` });
});

describe('ECS-like containers', () => {
  it('serves its page on a dynamic host port read through docker inspect', async () => {
    const c = await startEcsContainer(docker, { family, revision: 7, containerName: 'app', dockerLabels });
    const info = await docker.getContainer(c.id).inspect();
    expect(info.HostConfig.NetworkMode).toBe('bridge');
    expect(info.HostConfig.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '', HostPort: '' }] });
    const binding = (info.NetworkSettings.Ports['8080/tcp'] ?? []).find((b) => !b.HostIp.includes(':'));
    const port = Number(binding?.HostPort);
    expect(port).toBeGreaterThan(1024);
    expect(c.hostPort()).toBe(port);
    expect(await body(`http://127.0.0.1:${port}/`)).toContain(c.name);
  });

  it('carries the ECS name scheme, the five ECS labels and the dockerLabels (ECS labels win)', async () => {
    const c = await startEcsContainer(docker, {
      family,
      revision: 12,
      containerName: 'web_server.v2',
      cluster: 'edge-cluster',
      dockerLabels: {
        ...dockerLabels,
        'ecs-anywhere-lb.target-group': 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef',
        [ECS_LABELS.cluster]: 'spoofed',
      },
    });
    const info = await c.inspect();
    expect(c.name).toMatch(new RegExp(`^ecs-${family}-12-webserverv2-[0-9a-f]{20}$`));
    expect(info.Name).toBe(`/${c.name}`);
    const labels = info.Config.Labels;
    expect(labels[ECS_LABELS.taskArn]).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task\/edge-cluster\/[0-9a-f]{32}$/);
    expect(labels[ECS_LABELS.taskArn]).toBe(c.taskArn);
    expect(labels[ECS_LABELS.containerName]).toBe('web_server.v2');
    expect(labels[ECS_LABELS.family]).toBe(family);
    expect(labels[ECS_LABELS.version]).toBe('12');
    expect(labels[ECS_LABELS.cluster]).toBe('edge-cluster');
    expect(labels['ecs-anywhere-lb.target-group']).toContain('targetgroup/web/');
    expect(labels[TEST_CONTAINER_LABEL]).toBe('1');
    expect(labels[TEST_RUN_LABEL]).toBe(inject('testRunId'));
    expect(info.Config.Image).toBe(TEST_IMAGE);
  });

  it('publishes several ports: dynamic, fixed and bound to one host address', async () => {
    const fixed = await freeTcpPort();
    const c = await startEcsContainer(docker, {
      family,
      dockerLabels,
      page: 'many-ports',
      ports: [8080, { containerPort: 9090, hostPort: fixed }, { containerPort: 9091, hostIp: '127.0.0.1' }],
    });
    expect(c.hostPort(9090)).toBe(fixed);
    const ports = (await c.inspect()).NetworkSettings.Ports;
    expect(ports['9091/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(c.hostPort(9091)) }]);
    for (const containerPort of [8080, 9090, 9091]) {
      expect(await body(c.url('/', containerPort))).toContain('many-ports');
    }
  });

  it('runs in host network mode: host port = container port, nothing published', async () => {
    const port = await freeTcpPort();
    const c = await startEcsContainer(docker, { family, dockerLabels, networkMode: 'host', ports: [port] });
    const info = await c.inspect();
    expect(info.HostConfig.NetworkMode).toBe('host');
    expect(Object.keys(info.Config.ExposedPorts ?? {})).toEqual([`${port}/tcp`]);
    expect(Object.values(info.NetworkSettings.Ports ?? {}).flat().filter(Boolean)).toEqual([]);
    expect(c.hostPort()).toBe(port);
    expect(await body(`http://127.0.0.1:${port}/`)).toContain(c.name);
  });

  it('reports HEALTHCHECK results that a test can flip', async () => {
    const c = await startEcsContainer(docker, { family, dockerLabels, healthcheck: true });
    const started = Date.now();
    await c.waitForHealth('healthy', 10_000);
    const healthyMs = Date.now() - started;
    await c.setHealthy(false);
    await c.waitForHealth('unhealthy', 10_000);
    await c.setHealthy(true);
    await c.waitForHealth('healthy', 10_000);
    const health = (await c.inspect()).State.Health;
    expect(health?.Status).toBe('healthy');
    expect(health?.Log.some((entry) => entry.ExitCode !== 0)).toBe(true);
    // Quick to flip because the probe runs every 500 ms with 2 retries (the defaults), as Docker
    // records it; how long the first healthy took is the machine's speed, printed only.
    expect((await c.inspect()).Config.Healthcheck).toMatchObject({ Interval: 500_000_000, Retries: 2 });
    console.log(`[docker-harness] healthy ${healthyMs} ms after start`);
  });

  it('keeps serving for the stop grace after SIGTERM, then exits 0', async () => {
    const graceSec = 3;
    const c = await startEcsContainer(docker, { family, dockerLabels, stopGraceSec: graceSec, stopTimeoutSec: 30 });
    const url = c.url('/');
    const killedAt = Date.now();
    await c.kill('SIGTERM');
    // It answers after the signal: a request sent a second after it (a third of the grace) is
    // answered. (Counting answers in a fixed span measured the machine's speed instead.)
    for (let servedLate = false; !servedLate; await sleep(200)) {
      const sentAfterMs = Date.now() - killedAt;
      expect(sentAfterMs, 'a request sent a second after SIGTERM before the grace ends').toBeLessThan(graceSec * 1_000 - 500);
      expect(await body(url)).toContain(c.name);
      servedLate = sentAfterMs >= 1_000;
    }
    const exited = await waitFor(async () => {
      const state = (await c.inspect()).State;
      return state.Running ? undefined : state;
    }, { description: `${c.name} to exit after its grace`, timeoutMs: 10_000 });
    expect(exited.ExitCode).toBe(0);
    // Docker's own record of the exit: not before the grace ran out (a busy machine only makes it later).
    expect(Date.parse(exited.FinishedAt) - killedAt).toBeGreaterThanOrEqual(graceSec * 1_000 - 200);
    expect(await c.logs()).toContain('SIGTERM: serving 3s more');
  });

  it('is killed by docker stop when its grace outlasts the stop timeout', async () => {
    const graceSec = 60;
    const c = await startEcsContainer(docker, { family, dockerLabels, stopGraceSec: graceSec });
    const started = Date.now();
    await c.stop(1);
    const state = (await c.inspect()).State;
    expect(state.Running).toBe(false);
    // 137: SIGKILL, which only the stop timeout sends; and well before the grace would have ended.
    expect(state.ExitCode).toBe(137);
    expect(Date.now() - started).toBeLessThan((graceSec * 1_000) / 2);
  });
});

describe('plain containers', () => {
  it('carry compose labels and no ECS labels', async () => {
    const c = await startPlainContainer(docker, {
      labels: dockerLabels,
      compose: { project: 'shop', service: 'web' },
    });
    const labels = (await c.inspect()).Config.Labels;
    expect(labels['com.docker.compose.service']).toBe('web');
    expect(Object.keys(labels).filter((k) => k.startsWith('com.amazonaws.ecs.'))).toEqual([]);
    expect(await body(c.url())).toContain(c.name);
  });
});

describe('engine', () => {
  it('reuses an engine that answers instead of starting another', async () => {
    // Code under test that reads DOCKER_HOST finds the suite's engine too.
    expect(process.env.DOCKER_HOST).toBe(inject('dockerHost'));
    const engine = await startDockerEngine({ dockerHost: inject('dockerHost'), log: () => {} });
    expect(engine.started).toBe(false);
    await engine.stop();
    expect((await pingDocker(inject('dockerHost'))).ok).toBe(true);
  });

  const root = process.getuid?.() === 0;
  it.skipIf(!root)('starts a private dockerd and stops it without leftovers, even after a crash', async () => {
    // iptables off: a second dockerd must not flush the chains of the one the suite uses.
    const quiet = { log: () => {}, iptables: false as const };
    const engine = await startDockerEngine({ reuse: false, ...quiet });
    expect(engine.started).toBe(true);
    const privateDocker = connectDocker(engine.dockerHost);
    await ensureTestImage(privateDocker, { log: () => {} });
    const c = await startEcsContainer(privateDocker, { family, dockerLabels });
    expect(await body(c.url())).toContain(c.name);
    await engine.stop();
    expectGone(engine.dir ?? '', engine.pid ?? 0);

    // A run that died: its dockerd is killed with a container still running.
    const tag = `crash-${randomHex(6)}`;
    const crashed = await startDockerEngine({ reuse: false, tag, ...quiet });
    const crashedDocker = connectDocker(crashed.dockerHost);
    await ensureTestImage(crashedDocker, { log: () => {} });
    const orphan = await startEcsContainer(crashedDocker, { family, dockerLabels });
    const orphanPid = (await orphan.inspect()).State.Pid;
    const crashedPid = crashed.pid;
    if (crashedPid === undefined || crashedPid <= 0) throw new Error('private engine reported no dockerd pid');
    process.kill(crashedPid, 'SIGKILL');
    await waitFor(() => !isAlive(crashedPid), { description: 'crashed dockerd gone' });
    expect(isAlive(orphanPid)).toBe(true);
    const cleaned = await cleanupLeftoverEngines({ tag, log: () => {} });
    expect(cleaned).toEqual([crashed.dir]);
    expect(isAlive(orphanPid)).toBe(false);
    expectGone(crashed.dir ?? '', crashedPid);
  });
});

describe('cleanup', () => {
  it('removeTestContainers leaves none of this file\'s containers behind', async () => {
    await startEcsContainer(docker, { family, dockerLabels, start: false });
    const removed = await removeTestContainers(docker, { label: `${FILE_LABEL}=${fileId}` });
    expect(removed).toBeGreaterThan(0);
    const left = await docker.listContainers({ all: true, filters: { label: [`${FILE_LABEL}=${fileId}`] } });
    expect(left).toEqual([]);
  });
});

function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

function expectGone(dir: string, pid: number): void {
  expect(dir).not.toBe('');
  expect(isAlive(pid)).toBe(false);
  expect(fs.existsSync(dir)).toBe(false);
  expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  const bridge = `ecslb-${dir.split('ecslbd-')[1]}`;
  expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toContain(`${bridge}:`);
  const processes = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && isAlive(Number(p)));
  const mentioning = processes.filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
    } catch {
      return false;
    }
  });
  expect(mentioning).toEqual([]);
}
