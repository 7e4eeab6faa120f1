// The linux-x64 single executable itself (not node + bundle) does the agent's job: it
// registers real containers' dynamic host ports in a local ELBv2 target group, deregisters
// one that stops, and deregisters the rest when it is stopped; once quiet it gives its heap
// pages back (V8's collector is there: --expose-gc is baked in). Along the way it measures
// what the README quotes (start-up to first reconcile, idle RSS with a few containers) and
// writes them to dist/bin/bench.json. Skipped until `npm run build:binaries` has made
// dist/bin/ecs-anywhere-lb-agent-linux-x64 (and on hosts that cannot run it).
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT, newestMtime, runAgentCommand, type AgentProcess } from '../support/agent-process.ts';
import { HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import type { EcsContainer } from '../support/ecs-container.ts';
import { sleep } from '../support/wait.ts';

const BIN_DIR = join(REPO_ROOT, 'dist', 'bin');
const BINARY = join(BIN_DIR, 'ecs-anywhere-lb-agent-linux-x64');
/** How long the agent idles, with its containers registered, before RSS is read. */
const IDLE_MS = 10_000;
const CONTAINERS = 3;
/** The agent's exit status for invalid configuration (EXIT_CONFIG in agent/main.ts: EX_CONFIG). */
const EXIT_CONFIG = 78;

const runnable = existsSync(BINARY) && process.platform === 'linux' && process.arch === 'x64';
/** A binary older than agent/ was built from other code: testing it would prove nothing about this checkout. */
const stale = runnable && statSync(BINARY).mtimeMs < newestMtime(join(REPO_ROOT, 'agent'));

/** A field of /proc/<pid>/status in KiB (VmRSS, VmHWM). */
function procStatusKiB(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

describe.skipIf(!runnable || stale)(`single executable linux-x64 (dist/bin)${stale ? ' (skipped: older than agent/, run npm run build:binaries)' : ''}`, () => {
  let world: World;
  let agent: AgentProcess | undefined;
  const buildInfo = existsSync(join(BIN_DIR, 'build-info.json'))
    ? (JSON.parse(readFileSync(join(BIN_DIR, 'build-info.json'), 'utf8')) as { version: string; commit: string; node: string; sizes: unknown })
    : undefined;

  beforeAll(async () => {
    if (!inject('dockerHost')) throw new Error('the binary smoke test needs a Docker engine (ECSLB_TEST_DOCKER=skip is set)');
    world = await createWorld({ groups: ['binary'] });
  });

  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await world?.close();
  });

  it('--version names the version, commit and Node of the build', async () => {
    const { code, stdout } = await runAgentCommand({ executable: BINARY, args: ['--version'] });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ecs-anywhere-lb-agent \S+ \(commit \S+/);
    if (buildInfo) {
      expect(stdout).toContain(buildInfo.version);
      expect(stdout).toContain(buildInfo.commit);
      expect(stdout).toContain(buildInfo.node);
    }
  });

  it('rejects a bad option with a message that names it', async () => {
    const { code, stderr } = await runAgentCommand({ executable: BINARY, args: ['check'], env: world.env({ ECS_ANYWHERE_LB_ON_EXIT: 'bogus' }) });
    expect(code).toBe(EXIT_CONFIG);
    expect(stderr).toContain('ECS_ANYWHERE_LB_ON_EXIT');
  });

  it('registers containers, deregisters one that stops and the rest on exit', { timeout: 120_000 }, async () => {
    const containers: EcsContainer[] = [];
    for (let i = 0; i < CONTAINERS; i++) {
      containers.push(await world.startContainer({ family: 'binary-smoke', dockerLabels: targetLabels(world.groups.binary!) }));
    }
    const expected = containers.map((c) => `${HOST_IP}:${c.hostPort()}`);

    const spawnedAt = performance.now();
    agent = world.startAgent(
      { ECS_ANYWHERE_LB_ON_EXIT: 'deregister', ECS_ANYWHERE_LB_DRAIN_TIMEOUT: '10s', ECS_ANYWHERE_LB_LOG_LEVEL: 'debug' },
      { executable: BINARY },
    );
    const ready = await agent.ready(30_000);
    const startupMs = performance.now() - spawnedAt;
    await world.waitForTargets('binary', expected, 'the binary registered every container');
    await world.waitForTargets('binary', expected, 'targets healthy (health checks reach the published ports)', 20_000, ['healthy']);

    // Idle with the targets registered, then read the resident set.
    await sleep(IDLE_MS);
    const pid = agent.pid!;
    const rssKiB = procStatusKiB(pid, 'VmRSS');
    const hwmKiB = procStatusKiB(pid, 'VmHWM');
    // The idle is longer than the heap trim's quiet spell (agent/host/heap-trim.ts): start-up's garbage was given back.
    const trims = agent.find((l) => l.event === 'heap-trim');
    expect(trims.length, agent.tail()).toBeGreaterThanOrEqual(1);
    expect(Number(trims[0]!.afterMiB)).toBeLessThan(Number(trims[0]!.beforeMiB));
    expect(agent.find((l) => l.event === 'heap-trim-off')).toHaveLength(0);

    await containers[0]!.stop(2);
    await world.waitForTargets('binary', expected.slice(1), 'stopped container deregistered (draining, then gone)', 20_000, ['initial', 'healthy', 'unhealthy']);

    const code = await agent.stop('SIGTERM', 30_000);
    expect(code, agent.tail()).toBe(0);
    expect(agent.find((l) => l.event === 'stopped')).toHaveLength(1);
    await world.waitForTargets('binary', [], 'every target deregistered at exit', 20_000, ['initial', 'healthy', 'unhealthy']);

    const bench = {
      binary: 'ecs-anywhere-lb-agent-linux-x64',
      version: buildInfo?.version,
      commit: buildInfo?.commit,
      node: buildInfo?.node,
      sizes: buildInfo?.sizes,
      startupToFirstReconcileMs: Math.round(startupMs),
      agentUptimeAtFirstReconcileMs: ready.uptimeMs,
      firstReconcileMs: ready.durationMs,
      idleRssMiB: Math.round((rssKiB / 1024) * 10) / 10,
      peakRssMiB: Math.round((hwmKiB / 1024) * 10) / 10,
      idleSeconds: IDLE_MS / 1000,
      containers: CONTAINERS,
      measuredAt: new Date().toISOString(),
    };
    writeFileSync(join(BIN_DIR, 'bench.json'), `${JSON.stringify(bench)}\n`);
    console.log(`[binary-smoke] ${JSON.stringify(bench)}`);
  });
});
