// The state file going bad under the real agent process: a file cut short (a power loss
// on a card that ignored the fsync) and a state directory on a full file system (a tiny
// tmpfs this file mounts and fills). The agent keeps running in both, registers what it can
// record, removes only what is provably its own, and another host's target, registered
// through the real SDK, is never touched.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FOREIGN_IP, HOST_IP, createWorld, targetLabels, type World } from '../support/agent-world.ts';
import { runAgentCommand, type AgentProcess } from '../support/agent-process.ts';
import type { EcsContainer } from '../support/ecs-container.ts';
import { freeLoopbackAddress } from '../support/free-ports.ts';
import { createTestClient } from '../support/local-elbv2/test-client.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { sleep, waitFor } from '../support/wait.ts';

const LIVE = ['initial', 'healthy', 'unhealthy'];
const FOREIGN = `${FOREIGN_IP}:31000`;

let world: World;
let agent: AgentProcess | undefined;
const containers: EcsContainer[] = [];

beforeAll(async () => {
  world = await createWorld({ groups: ['rec'] });
  // Another host's target, registered the way that host's agent would: through the SDK.
  await createTestClient(world.elb, { accessKeyId: 'AKIDOTHERHOST' }).send(
    new RegisterTargetsCommand({ TargetGroupArn: world.groups.rec, Targets: [{ Id: FOREIGN_IP, Port: 31000, AvailabilityZone: 'all' }] }),
  );
});

afterEach(async () => {
  await agent?.stop('SIGKILL');
  agent = undefined;
  await Promise.all(containers.splice(0).map((c) => c.remove().catch(() => undefined)));
});

afterAll(async () => {
  await world?.close();
});

async function container(family: string): Promise<EcsContainer> {
  const c = await world.startContainer({ family, dockerLabels: targetLabels(world.groups.rec!) });
  containers.push(c);
  return c;
}

const at = (c: EcsContainer) => `${HOST_IP}:${c.hostPort()}`;
const live = () => world.targets('rec', LIVE);
const alive = (a: AgentProcess) => Promise.race([a.exited.then(() => false), sleep(10).then(() => true)]);

/** No call of this agent ever named the other host's target, and it is still in the group. */
function foreignUntouched(): void {
  expect(world.elb.requestLog.filter((e) => e.caller !== 'AKIDOTHERHOST' && (e.targets ?? []).some((t) => t.id === FOREIGN_IP))).toEqual([]);
  expect(live()).toContain(FOREIGN);
}

describe('a state file cut short', () => {
  it('is moved aside; the agent keeps running, removes its stale target, registers the new one, and leaves the other host\'s alone', async () => {
    const old = await container('rec-old');
    agent = world.startAgent();
    await agent.ready();
    await world.waitForTargets('rec', [at(old), FOREIGN], 'first agent registered its container', 20_000, LIVE);
    // Power loss: the agent dies, the task with it, and the card kept half of the file.
    await agent.stop('SIGKILL');
    const path = join(world.stateDir, 'state.json');
    const full = readFileSync(path, 'utf8');
    writeFileSync(path, full.slice(0, Math.floor(full.length / 2)));
    const stale = at(old);
    await old.remove();
    const fresh = await container('rec-new');

    agent = world.startAgent();
    const recovered = await agent.waitForLog((l) => l.event === 'state-recovered', 'recovery logged');
    await agent.ready();
    expect(recovered.level).toBe('error');
    expect(recovered.message).toContain(`state ${path} is cut short`);
    expect(recovered.message).toContain(`every target on its current address ${HOST_IP}`);
    const aside = readdirSync(world.stateDir).filter((n) => n.startsWith('state.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/^state\.json\.corrupt-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}Z$/);
    expect(readFileSync(join(world.stateDir, aside[0]!), 'utf8')).toBe(full.slice(0, Math.floor(full.length / 2)));
    expect(recovered.movedTo).toBe(join(world.stateDir, aside[0]!));

    await world.waitForTargets('rec', [at(fresh), FOREIGN], 'new container in, stale target out', 20_000, LIVE);
    expect(live()).not.toContain(stale);
    expect(await alive(agent)).toBe(true);
    foreignUntouched();
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { targets: { id: string; port: number }[] };
    expect(saved.targets.map((t) => `${t.id}:${t.port}`)).toEqual([at(fresh)]);
  });
});

/** Why a tmpfs cannot be mounted here, or undefined when it can (root, and mount works). */
function tmpfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  const probe = mkdtempSync(join(tmpdir(), 'ecslb-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const noTmpfs = tmpfsUnavailable();

describe.skipIf(noTmpfs !== undefined)(`a state directory on a full file system${noTmpfs ? ` (skipped: ${noTmpfs})` : ''}`, () => {
  let mountPoint: string | undefined;

  afterAll(() => {
    if (mountPoint === undefined) return;
    // Whatever happened: no mount is left behind (lazy, in case a process still has a file open there).
    execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('keeps serving and deregistering, registers nothing it cannot record, and registers it once space is freed', async () => {
    mountPoint = mkdtempSync(join(tmpdir(), 'ecslb-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mountPoint], { stdio: 'pipe' });
    const stateDir = join(mountPoint, 'state');
    const kept = await container('full-kept');
    const leaving = await container('full-leaving');
    const metrics = await freeLoopbackAddress();
    const env = { ECS_ANYWHERE_LB_STATE_DIR: stateDir, ECS_ANYWHERE_LB_RETRY_MAX_DELAY: '2s', ECS_ANYWHERE_LB_METRICS_ADDRESS: metrics.address };
    agent = world.startAgent(env);
    await agent.ready();
    await world.waitForTargets('rec', [at(kept), at(leaving), FOREIGN], 'registered before the disk fills', 20_000, LIVE);

    // Fill the file system to the last byte.
    const fillers = fill(join(mountPoint, 'filler'));
    // The journal's last page may have room left: blank lines (which a load skips) take it, so a note fails like any write.
    fillSlack(join(stateDir, 'state.journal'));
    const waiting = await container('full-waiting');
    const held = await agent.waitForLog((l) => l.event === 'registration-held' && l.target === at(waiting), 'registration held back');
    expect(held.message).toContain('ENOSPC');
    const failed = agent.find((l) => l.event === 'state-write-failed');
    expect(failed[0]?.level).toBe('error');
    expect(failed[0]?.message).toContain(`cannot write state ${join(stateDir, 'state.json')}: ENOSPC`);

    // Still serving: a stopped container's target goes; the kept one stays; the waiting one is not sent.
    await leaving.stop();
    await world.waitForTargets('rec', [at(kept), FOREIGN], 'stopped container deregistered while the disk is full', 20_000, LIVE);
    await sleep(1500);
    expect(live()).toEqual([at(kept), FOREIGN].sort());
    expect(world.elb.requestLog.filter((e) => e.action === 'RegisterTargets' && (e.targets ?? []).some((t) => `${t.id}:${t.port}` === at(waiting)))).toEqual([]);
    expect(await alive(agent)).toBe(true);
    // What is on disk still claims the targets it registered (never fewer).
    const onDisk = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { targets: { id: string; port: number }[] };
    expect(onDisk.targets.map((t) => `${t.id}:${t.port}`)).toContain(at(kept));
    expect(readdirSync(stateDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    // Exposed: the metrics count the failed writes, and `status` names the problem.
    const families = parsePrometheusText(await (await fetch(`http://${metrics.address}/metrics`)).text());
    expect(sampleValue(families, 'ecs_anywhere_lb_state_write_failures_total')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(families, 'ecs_anywhere_lb_state_write_failing')).toBe(1);
    const status = await runAgentCommand({ args: ['status', '--json'], env: world.env({ ECS_ANYWHERE_LB_STATE_DIR: stateDir }) });
    const report = JSON.parse(status.stdout) as { state: { writeProblem?: string } };
    expect(report.state.writeProblem).toContain('ENOSPC');

    // Space again: the held registration goes through within the write's backoff (capped at 2 s here).
    for (const f of fillers) rmSync(f, { force: true });
    await world.waitForTargets('rec', [at(kept), at(waiting), FOREIGN], 'held registration sent once the disk has space', 15_000, LIVE);
    await agent.waitForLog((l) => l.event === 'state-write-recovered', 'write recovered logged');
    // The first write to succeed may be the waiting target's note (state.journal); state.json is saved right after its call.
    const saved = () => (JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { targets: { id: string; port: number }[] }).targets.map((t) => `${t.id}:${t.port}`).sort();
    await waitFor(() => JSON.stringify(saved()) === JSON.stringify([at(kept), at(waiting)].sort()), { description: 'state.json holding the kept and the waiting target', timeoutMs: 10_000 });
    foreignUntouched();
    expect(existsSync(join(stateDir, 'state.json'))).toBe(true);
  });
});

/** Appends newlines to an existing file until the file system refuses one more byte. */
function fillSlack(path: string): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'a');
  try {
    for (let i = 0; i < 64 * 1024; i++) writeSync(fd, '\n');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

/** Writes files next to `path` until the file system has no byte left; returns them. */
function fill(path: string): string[] {
  const files: string[] = [];
  // One large write, then small ones for what is left of the last pages.
  for (const [i, size] of [1024 * 1024, ...Array<number>(64).fill(512)].entries()) {
    const file = `${path}-${i}`;
    files.push(file);
    try {
      writeFileSync(file, Buffer.alloc(size));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      if (i > 0) return files;
    }
  }
  return files;
}
