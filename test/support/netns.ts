// A network namespace a test owns, to change the addresses an agent sees for real: the
// agent runs inside it (`ip netns exec`), reaches the local ELBv2 endpoint over a veth
// pair to the root namespace, and registers the address of an interface the test adds,
// renumbers, downs and removes. Only 10.x addresses on links created here are used;
// nothing is routed anywhere else. Everything is named with NETNS_PREFIX so a crashed
// run's leftovers are removed by the next one.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Namespaces and root-side links created here start with this. */
export const NETNS_PREFIX = 'ecslbt';

/** Why a test namespace cannot be made here, or undefined when it can. */
export function netnsUnavailableReason(): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return `network namespaces need root (uid ${process.getuid()})`;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
  } catch (error) {
    return `\`ip netns\` does not work here: ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}

async function ip(...args: string[]): Promise<string> {
  try {
    return (await execFileAsync('ip', args)).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`ip ${args.join(' ')}: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

/** A namespace with a veth to the root namespace and interfaces the test controls. */
export interface TestNetns {
  readonly name: string;
  /** The root side's address: listen here so the agent inside can reach a server. */
  readonly rootAddress: string;
  /** The namespace side's address on the veth. */
  readonly nsAddress: string;
  /** `ip netns exec NAME` + command: wrap the agent in this. */
  exec(command: string, args: string[]): { executable: string; args: string[] };
  /**
   * Adds an interface `name` inside the namespace, up, with `address` (CIDR). It is one
   * end of a veth pair whose other end (`p-<name>`) stays in the namespace, so that it has
   * a carrier (Node lists only interfaces that are up and running).
   */
  addInterface(name: string, address?: string): Promise<void>;
  /** Replaces every IPv4 address of the interface with `address` (CIDR). */
  setAddress(name: string, address: string): Promise<void>;
  setUp(name: string, up: boolean): Promise<void>;
  removeInterface(name: string): Promise<void>;
  /** Routes the default route of the namespace through this interface (no traffic leaves the namespace by it). */
  setDefaultRoute(name: string): Promise<void>;
  /** Runs `ip` inside the namespace. */
  ip(...args: string[]): Promise<string>;
  remove(): Promise<void>;
}

/** Deletes namespaces and root-side links with NETNS_PREFIX left by earlier runs whose process is gone. */
export async function removeLeftoverNetns(): Promise<void> {
  const list = await ip('netns', 'list').catch(() => '');
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(`${NETNS_PREFIX}-`)) continue;
    const pid = Number(name.split('-')[1]);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
    await ip('netns', 'delete', name).catch(() => undefined);
  }
  const links = await ip('-o', 'link', 'show').catch(() => '');
  for (const m of links.matchAll(/^\d+: (ecslbt[0-9a-f]{8}r)[@:]/gm)) {
    const link = m[1] as string;
    const pid = Number.parseInt(link.slice(NETNS_PREFIX.length, NETNS_PREFIX.length + 6), 16);
    if (pid > 0 && processAlive(pid)) continue;
    await ip('link', 'delete', link).catch(() => undefined);
  }
}

/** Whether a process with this pid runs (a leftover's owner is gone when not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Picks a 10.213.N.0/30 for the veth that no route or address of the root namespace overlaps. */
async function freeVethSubnet(): Promise<number> {
  const used = await ip('-4', 'route', 'show', 'table', 'all') + (await ip('-4', '-o', 'addr', 'show'));
  const start = Math.floor(Math.random() * 250);
  for (let i = 0; i < 250; i++) {
    const n = (start + i) % 250;
    if (!used.includes(`10.213.${n}.`)) return n;
  }
  throw new Error('no free 10.213.N.0/30 for the test veth');
}

/** Creates the namespace `ecslbt-<pid>-<hex>` with lo up and a veth to the root namespace. */
export async function createTestNetns(): Promise<TestNetns> {
  await removeLeftoverNetns();
  const hex = randomBytes(1).toString('hex');
  const name = `${NETNS_PREFIX}-${process.pid}-${hex}`;
  // Root-side link: ecslbt + 6 hex of the pid + 2 random hex + r: the 15 characters a name may have.
  const root = `${NETNS_PREFIX}${process.pid.toString(16).padStart(6, '0')}${hex}r`;
  const n = await freeVethSubnet();
  const rootAddress = `10.213.${n}.1`;
  const nsAddress = `10.213.${n}.2`;
  await ip('netns', 'add', name);
  const netns: TestNetns = {
    name,
    rootAddress,
    nsAddress,
    exec: (command, args) => ({ executable: 'ip', args: ['netns', 'exec', name, command, ...args] }),
    ip: (...args) => ip('-n', name, ...args),
    async addInterface(ifname, address) {
      await netns.ip('link', 'add', ifname, 'type', 'veth', 'peer', 'name', `p-${ifname}`);
      await netns.ip('link', 'set', `p-${ifname}`, 'up');
      if (address !== undefined) await netns.ip('addr', 'add', address, 'dev', ifname);
      await netns.ip('link', 'set', ifname, 'up');
    },
    async setAddress(ifname, address) {
      await netns.ip('-4', 'addr', 'flush', 'dev', ifname);
      await netns.ip('addr', 'add', address, 'dev', ifname);
    },
    setUp: async (ifname, up) => {
      await netns.ip('link', 'set', ifname, up ? 'up' : 'down');
    },
    removeInterface: async (ifname) => {
      await netns.ip('link', 'delete', ifname);
    },
    setDefaultRoute: async (ifname) => {
      await netns.ip('route', 'replace', 'default', 'dev', ifname);
    },
    async remove() {
      await ip('link', 'delete', root).catch(() => undefined);
      await ip('netns', 'delete', name).catch(() => undefined);
    },
  };
  try {
    await netns.ip('link', 'set', 'lo', 'up');
    await ip('link', 'add', root, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', name);
    await ip('addr', 'add', `${rootAddress}/30`, 'dev', root);
    await ip('link', 'set', root, 'up');
    await netns.ip('addr', 'add', `${nsAddress}/30`, 'dev', 'veth0');
    await netns.ip('link', 'set', 'veth0', 'up');
  } catch (error) {
    await netns.remove();
    throw error;
  }
  return netns;
}
