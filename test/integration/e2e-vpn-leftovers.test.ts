// What a crashed `npm run e2e:vpn` leaves is removed by the next run (scripts/e2e-vpn/footprint.ts):
// a namespace with a process in it, a root-side veth, a process that names the run directory
// only in its environment, one that only works in it, a container with the run's label and the
// run directory, all named for a pid that no longer runs. What belongs to a live run stays.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { ip } from '../../scripts/e2e-vpn/command.ts';
import { footprint, removeLeftovers, RUN_DIR_BASE } from '../../scripts/e2e-vpn/footprint.ts';
import { runNames } from '../../scripts/e2e-vpn/network-plan.ts';
import { netnsUnavailableReason } from '../support/netns.ts';
import { startEcsContainer } from '../support/ecs-container.ts';
import { waitFor } from '../support/wait.ts';

const unavailable = netnsUnavailableReason();
const docker = new Docker();
const children: ChildProcess[] = [];
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const f of cleanups.reverse()) await Promise.resolve(f()).catch(() => undefined);
});

/** A pid that ran and exited (so no process has it now). */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe.skipIf(unavailable !== undefined)('e2e:vpn leftovers', () => {
  it("removes a crashed run's namespaces, links, processes, containers and directory, and keeps a live run's", async () => {
    const dead = runNames(deadPid(), 'zz');
    const live = runNames(process.pid, 'yy');
    const deadDir = join(RUN_DIR_BASE, dead.runId);
    const liveDir = join(RUN_DIR_BASE, live.runId);
    mkdirSync(join(deadDir, 'work'), { recursive: true });
    mkdirSync(liveDir, { recursive: true });
    cleanups.push(() => rmSync(deadDir, { recursive: true, force: true }), () => rmSync(liveDir, { recursive: true, force: true }));
    for (const ns of [dead.vpcNetns, live.vpcNetns]) {
      await ip(undefined, 'netns', 'add', ns);
      cleanups.push(() => ip(undefined, 'netns', 'delete', ns));
    }
    await ip(undefined, 'link', 'add', dead.rootVpcLink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', dead.vpcNetns);
    cleanups.push(() => ip(undefined, 'link', 'delete', dead.rootVpcLink));
    const inNs = spawn('ip', ['netns', 'exec', dead.vpcNetns, 'sleep', '120'], { stdio: 'ignore' });
    const byEnv = spawn('sleep', ['121'], { stdio: 'ignore', env: { PATH: process.env.PATH, STATE: `${deadDir}/host1-root/var/lib/x` } });
    const byCwd = spawn('sleep', ['122'], { stdio: 'ignore', cwd: join(deadDir, 'work') });
    children.push(inNs, byEnv, byCwd);
    const container = await startEcsContainer(docker, { family: 'e2e-vpn-leftover', runId: dead.runId, waitUntilServing: false });
    cleanups.push(() => container.remove());
    const deadPidOf = Number(dead.runId.split('-')[1]);
    // The three processes are found once they run (a fixed pause could end before a loaded machine started them).
    const ofDead = await waitFor(async () => {
      const items = (await footprint(docker)).filter((i) => i.runPid === deadPidOf);
      return items.filter((i) => i.kind === 'process').length === 3 ? items : undefined;
    }, { description: 'the crashed run\'s three processes in the footprint', timeoutMs: 10_000 });
    expect(ofDead.map((i) => i.kind).sort()).toEqual(['container', 'directory', 'link', 'netns', 'process', 'process', 'process']);

    const { removed, problems } = await removeLeftovers(docker);
    expect(problems).toEqual([]);
    // Other crashed runs' leftovers (a machine shared with other sessions) go too; this one's go exactly.
    expect(removed.filter((i) => i.runPid === deadPidOf).map((i) => `${i.kind} ${i.name}`).sort()).toEqual(ofDead.map((i) => `${i.kind} ${i.name}`).sort());
    expect(removed.filter((i) => i.runPid === process.pid)).toEqual([]);
    for (const c of [inNs, byEnv, byCwd]) await new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(null) : c.once('exit', resolve)));
    expect([inNs, byEnv, byCwd].map((c) => c.signalCode)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    const after = await footprint(docker);
    expect(after.filter((i) => i.runPid === Number(dead.runId.split('-')[1]))).toEqual([]);
    // The live run's namespace and directory are untouched.
    expect(after.filter((i) => i.runPid === process.pid).map((i) => i.kind).sort()).toEqual(['directory', 'netns']);
  });
});
