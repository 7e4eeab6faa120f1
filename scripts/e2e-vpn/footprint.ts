/**
 * What e2e:vpn leaves on the machine, read where `ip netns`, `ip link`, `ps` and `docker ps -a`
 * read it: namespaces, root-side links, processes (by the run directory in their command
 * line, environment or working directory, or by living in one of the run's namespaces), containers (by run
 * label) and run directories. Every name carries the pid of the run that made it, so a run
 * can check that it left nothing, and remove what runs whose process is gone left behind.
 */
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { TEST_RUN_LABEL } from '../../test/support/ecs-container.ts';
import { command, ip } from './command.ts';
import { E2E_VPN_PREFIX, pidOfLink, pidOfName } from './network-plan.ts';

/** One thing of e2e:vpn and the run (pid) it belongs to. */
export interface FootprintItem {
  readonly kind: 'netns' | 'link' | 'process' | 'container' | 'directory';
  readonly name: string;
  readonly runPid: number;
}

/** Where runs keep their directories (`ecslbv-<pid>-<hex>`). */
export const RUN_DIR_BASE = tmpdir();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readProc(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return '';
  }
}

function processCwd(pid: string): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}

const RUN_DIR_PATTERN = new RegExp(`${RUN_DIR_BASE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${E2E_VPN_PREFIX}-(\\d+)-`);

/** Everything of e2e:vpn on this machine now (of every run, live or not). */
export async function footprint(docker: Docker): Promise<FootprintItem[]> {
  const items: FootprintItem[] = [];
  const namespaces = (await ip(undefined, 'netns', 'list').catch(() => ''))
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${E2E_VPN_PREFIX}-`));
  for (const name of namespaces) items.push({ kind: 'netns', name, runPid: pidOfName(name) ?? 0 });
  const links = await ip(undefined, '-o', 'link', 'show').catch(() => '');
  for (const m of links.matchAll(/^\d+: ([^:@\s]+)[@:]/gm)) {
    const runPid = pidOfLink(m[1] as string);
    if (runPid !== undefined) items.push({ kind: 'link', name: m[1] as string, runPid });
  }
  const seen = new Set<string>();
  for (const ns of namespaces) {
    const pids = await command('ip', ['netns', 'pids', ns]).catch(() => '');
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      seen.add(pid);
      items.push({ kind: 'process', name: `${pid} ${readProc(pid, 'cmdline').split('\0').join(' ').trim()} (in ${ns})`, runPid: pidOfName(ns) ?? 0 });
    }
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p) && !seen.has(p) && Number(p) !== process.pid)) {
    const cmdline = readProc(pid, 'cmdline');
    const m = RUN_DIR_PATTERN.exec(cmdline) ?? RUN_DIR_PATTERN.exec(readProc(pid, 'environ')) ?? RUN_DIR_PATTERN.exec(`${processCwd(pid)}/`);
    if (m) items.push({ kind: 'process', name: `${pid} ${cmdline.split('\0').join(' ').trim()}`, runPid: Number(m[1]) });
  }
  const containers = await docker.listContainers({ all: true, filters: { label: [TEST_RUN_LABEL] } });
  for (const c of containers) {
    const runPid = pidOfName(c.Labels[TEST_RUN_LABEL] ?? '');
    if (runPid !== undefined) items.push({ kind: 'container', name: `${c.Id.slice(0, 12)} ${c.Names.join(',')} ${c.State}`, runPid });
  }
  for (const entry of readdirSync(RUN_DIR_BASE)) {
    const runPid = pidOfName(entry);
    if (runPid !== undefined) items.push({ kind: 'directory', name: join(RUN_DIR_BASE, entry), runPid });
  }
  return items;
}

/** One line per item, for logs and failure messages. */
export function describeFootprint(items: readonly FootprintItem[]): string {
  return items.length === 0 ? 'nothing' : items.map((i) => `${i.kind} ${i.name}`).join('\n');
}

/** Removes the items (processes first, then containers, namespaces, links, directories); returns the problems. */
export async function removeItems(docker: Docker, items: readonly FootprintItem[]): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  for (const item of items.filter((i) => i.kind === 'process')) {
    const pid = Number(item.name.split(' ')[0]);
    await attempt(`kill ${item.name}`, async () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    });
  }
  for (const item of items.filter((i) => i.kind === 'container')) {
    await attempt(`remove container ${item.name}`, () =>
      docker.getContainer(item.name.split(' ')[0] as string).remove({ force: true }).catch((error: unknown) => {
        // Gone meanwhile, or a removal (the run's own cleanup) already under way.
        if (![404, 409].includes((error as { statusCode?: number }).statusCode ?? 0)) throw error;
      }),
    );
  }
  for (const item of items.filter((i) => i.kind === 'netns')) await attempt(`delete netns ${item.name}`, () => ip(undefined, 'netns', 'delete', item.name));
  for (const item of items.filter((i) => i.kind === 'link')) {
    // A veth whose peer was in a deleted namespace is gone with it.
    await attempt(`delete link ${item.name}`, () => ip(undefined, 'link', 'delete', item.name).catch((error: unknown) => {
      if (!/Cannot find device/.test(String(error))) throw error;
    }));
  }
  for (const item of items.filter((i) => i.kind === 'directory')) await attempt(`remove ${item.name}`, async () => rmSync(item.name, { recursive: true, force: true }));
  return problems;
}

/** Removes what runs whose process is gone left behind; returns what was removed and the problems. */
export async function removeLeftovers(docker: Docker): Promise<{ removed: FootprintItem[]; problems: string[] }> {
  const items = (await footprint(docker)).filter((i) => !alive(i.runPid));
  const problems = items.length > 0 ? await removeItems(docker, items) : [];
  return { removed: items, problems };
}

/** Removes whatever of run `pid` is still there (after its own cleanup); returns what was found. */
export async function removeRunFootprint(docker: Docker, pid: number): Promise<{ left: FootprintItem[]; problems: string[] }> {
  const left = (await footprint(docker)).filter((i) => i.runPid === pid);
  return { left, problems: left.length > 0 ? await removeItems(docker, left) : [] };
}
