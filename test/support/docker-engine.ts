// A real Docker engine for the tests: reuse the one that answers at DOCKER_HOST (or
// the default socket), else start a private dockerd in a short temp directory and
// tear it down completely afterwards.
//
// Why a private engine looks the way it does:
// - Its own --data-root/--exec-root/socket/pidfile/containerd namespace so that it
//   collides with nothing, and its own bridge (ecslb-XXXXXX on a free 10.254.N.0/24)
//   so its containers never share docker0's address pool with another engine.
// - Two dockerds that manage iptables in one network namespace flush each other's
//   chains. When another dockerd runs in our network namespace, the private one runs
//   with --iptables=false: published ports are then served by docker-proxy alone,
//   which is enough for traffic from the host itself.
// - A run that crashed leaves a dockerd, shims, container processes, mounts and a
//   bridge behind. Every private engine records its owner process in owner.json, and
//   the next start (or `scripts/with-docker.ts cleanup`) removes engines whose owner
//   is gone.
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { sleep } from './wait.ts';

const execFileAsync = promisify(execFile);

/** The socket a Docker client uses when DOCKER_HOST is unset. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
/** Private engines live in `<baseDir>/ecslbd-XXXXXX`; leftover cleanup looks for this prefix. */
export const PRIVATE_ENGINE_DIR_PREFIX = 'ecslbd-';
const BRIDGE_PREFIX = 'ecslb-';
const OWNER_FILE = 'owner.json';
const LOG_FILE = 'dockerd.log';
// A directory without owner.json younger than this may belong to an engine being started.
const UNOWNED_GRACE_MS = 120_000;
// Linux sun_path is 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH = 100;
const SYSTEM_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** A Docker engine the tests can use; `stop()` undoes only what `startDockerEngine` did. */
export interface DockerEngine {
  /** Value for DOCKER_HOST, e.g. `unix:///tmp/ecslbd-a1B2c3/docker.sock`. */
  dockerHost: string;
  /** The engine's unix socket; undefined for a tcp:// DOCKER_HOST. */
  socketPath: string | undefined;
  /** True when this call started a private dockerd (then `stop()` tears it down). */
  started: boolean;
  /** Pid of the private dockerd (unset for a reused engine). */
  pid?: number;
  /** The private engine's directory: data root, exec root, socket, log, owner.json. */
  dir?: string;
  /** Whether the private dockerd manages iptables (off when another dockerd shares the netns). */
  iptables?: boolean;
  /** Removes the private engine's containers and stops it; a no-op for a reused engine. */
  stop(): Promise<void>;
}

/** Options of {@link startDockerEngine}. */
export interface StartDockerEngineOptions {
  /** Engine to reuse; default `$DOCKER_HOST`, else {@link DEFAULT_DOCKER_HOST}. */
  dockerHost?: string;
  /** Set false to always start a private engine (default true: reuse one that answers). */
  reuse?: boolean;
  /** Where the private engine's directory goes (default /tmp: unix socket paths must stay short). */
  baseDir?: string;
  /**
   * Whether the private dockerd manages iptables. Default "auto" (env
   * `ECSLB_TEST_DOCKERD_IPTABLES=true|false|auto`): on, unless another dockerd runs in
   * this network namespace.
   */
  iptables?: boolean | 'auto';
  /** Free-form owner tag recorded in owner.json (default env `ECSLB_TEST_ENGINE_TAG`). */
  tag?: string;
  /** How long the private dockerd may take to answer (default 60 s). */
  startTimeoutMs?: number;
  /** Progress messages (default: stderr with a `[docker-engine]` prefix). */
  log?: (message: string) => void;
}

/** Options of {@link cleanupLeftoverEngines}. */
export interface CleanupLeftoverOptions {
  baseDir?: string;
  /** Also clean engines recorded with this tag even if their owner still runs. */
  tag?: string;
  log?: (message: string) => void;
}

interface OwnerRecord {
  ownerPid: number;
  ownerStartTicks: string | undefined;
  tag: string | undefined;
  createdAt: string;
  dockerdPid?: number;
  bridge: string;
  subnet?: string;
  containerdNamespace: string;
  iptables?: boolean;
}

interface PrivateEngineState {
  dir: string;
  socketPath: string;
  bridge: string;
  subnet: string | undefined;
  containerdNamespace: string;
  dockerdPid: number | undefined;
  iptables: boolean;
}

/** Result of {@link pingDocker}: whether `GET /_ping` answered OK, and what happened. */
export interface PingResult {
  ok: boolean;
  detail: string;
}

/**
 * Returns a Docker engine for the tests: the one answering at DOCKER_HOST (or the
 * default socket) when there is one, else a freshly started private dockerd.
 * Starting one needs root and Debian's docker.io (plus iproute2's `ip`).
 */
export async function startDockerEngine(options: StartDockerEngineOptions = {}): Promise<DockerEngine> {
  const log = options.log ?? defaultLog;
  const dockerHost = options.dockerHost ?? (process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST);
  if (options.reuse !== false) {
    const ping = await pingDocker(dockerHost, 3_000);
    if (ping.ok) {
      log(`reusing the Docker engine at ${dockerHost}`);
      return {
        dockerHost,
        socketPath: parseDockerHost(dockerHost).socketPath,
        started: false,
        stop: async () => {},
      };
    }
    log(`no Docker engine answers at ${dockerHost} (${ping.detail}); starting a private dockerd`);
  }
  try {
    return await startPrivateEngine(options, log);
  } catch (error) {
    // A kernel or iptables build dockerd cannot drive (no nf_tables, no legacy modules)
    // should not stop the tests: without iptables, docker-proxy still publishes ports.
    const chosen = options.iptables ?? process.env.ECSLB_TEST_DOCKERD_IPTABLES ?? 'auto';
    if (chosen !== 'auto' || !/iptables|nf_tables|xtables/i.test(String(error))) throw error;
    log(`private dockerd failed to set up iptables; retrying with --iptables=false:\n${String(error)}`);
    return startPrivateEngine({ ...options, iptables: false }, log);
  }
}

/** Builds a dockerode client for a DOCKER_HOST value (unix:// or tcp://; default: environment). */
export function connectDocker(dockerHost?: string, timeoutMs?: number): Docker {
  const host = dockerHost ?? (process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST);
  const parsed = parseDockerHost(host);
  const timeout = timeoutMs === undefined ? {} : { timeout: timeoutMs };
  if (parsed.socketPath !== undefined) return new Docker({ socketPath: parsed.socketPath, ...timeout });
  if (parsed.host !== undefined) return new Docker({ host: parsed.host, port: parsed.port, protocol: 'http', ...timeout });
  throw new Error(`unsupported DOCKER_HOST ${JSON.stringify(host)}: only unix:// and tcp:// are supported by the test harness`);
}

/** Splits a DOCKER_HOST value into a socket path or a host and port. */
export function parseDockerHost(dockerHost: string): { socketPath?: string; host?: string; port?: number } {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  if (dockerHost.startsWith('/')) return { socketPath: dockerHost };
  const tcp = /^tcp:\/\/([^:/]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(dockerHost);
  if (tcp?.[1] !== undefined) return { host: tcp[1].replace(/^\[|\]$/g, ''), port: Number(tcp[2] ?? 2375) };
  return {};
}

/** Asks an engine `GET /_ping` with a short timeout; never throws. */
export function pingDocker(dockerHost: string, timeoutMs = 2_000): Promise<PingResult> {
  const target = parseDockerHost(dockerHost);
  if (target.socketPath === undefined && target.host === undefined) {
    return Promise.resolve({ ok: false, detail: `unsupported DOCKER_HOST ${dockerHost}` });
  }
  if (target.socketPath !== undefined && !fs.existsSync(target.socketPath)) {
    return Promise.resolve({ ok: false, detail: `${target.socketPath} does not exist` });
  }
  return new Promise((resolve) => {
    const request = http.request(
      {
        ...(target.socketPath !== undefined
          ? { socketPath: target.socketPath }
          : { host: target.host, port: target.port }),
        path: '/_ping',
        method: 'GET',
        timeout: timeoutMs,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({ ok: response.statusCode === 200, detail: `HTTP ${response.statusCode}: ${body.trim()}` }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ ok: false, detail: error.message }));
    request.end();
  });
}

/**
 * Tears down private engines left by runs that died (owner process gone), or
 * recorded with `options.tag`. Returns the directories it cleaned.
 */
export async function cleanupLeftoverEngines(options: CleanupLeftoverOptions = {}): Promise<string[]> {
  const log = options.log ?? defaultLog;
  const baseDir = options.baseDir ?? '/tmp';
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(baseDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const cleaned: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !entry.name.startsWith(PRIVATE_ENGINE_DIR_PREFIX)) continue;
    const dir = path.join(baseDir, entry.name);
    const owner = await readOwner(dir);
    if (owner) {
      const tagged = options.tag !== undefined && owner.tag === options.tag;
      if (!tagged && ownerAlive(owner)) continue;
    } else {
      const stat = await fsp.stat(dir).catch(() => undefined);
      if (!stat || Date.now() - stat.mtimeMs < UNOWNED_GRACE_MS) continue;
    }
    const suffix = entry.name.slice(PRIVATE_ENGINE_DIR_PREFIX.length);
    const pidFromFile = Number((await fsp.readFile(path.join(dir, 'docker.pid'), 'utf8').catch(() => '')).trim());
    const dockerdPid = owner?.dockerdPid ?? (pidFromFile > 0 ? pidFromFile : undefined);
    log(`cleaning up leftover private engine ${dir}` + (owner ? ` (owner pid ${owner.ownerPid} gone)` : ''));
    await stopPrivateEngine(
      {
        dir,
        socketPath: path.join(dir, 'docker.sock'),
        bridge: owner?.bridge ?? `${BRIDGE_PREFIX}${suffix}`,
        subnet: owner?.subnet,
        containerdNamespace: owner?.containerdNamespace ?? `${BRIDGE_PREFIX}${suffix}`,
        // Only signal a process that is still this engine's dockerd (pids get reused).
        dockerdPid: dockerdPid !== undefined && readCmdline(dockerdPid).includes(dir) ? dockerdPid : undefined,
        iptables: owner?.iptables ?? false,
      },
      log,
    );
    cleaned.push(dir);
  }
  return cleaned;
}

async function startPrivateEngine(options: StartDockerEngineOptions, log: (m: string) => void): Promise<DockerEngine> {
  const dockerd = findExecutable('dockerd');
  if (!dockerd) {
    throw new Error(
      'cannot start a private Docker engine: `dockerd` was not found (searched PATH and ' +
        `${SYSTEM_BIN_DIRS.join(', ')}). Install Debian's docker.io ` +
        '(`apt-get install -y docker.io`, or run scripts/install-ci-deps.sh as root), ' +
        'or point DOCKER_HOST at a running engine.',
    );
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      `cannot start a private Docker engine: dockerd needs root (running as uid ${process.getuid()}). ` +
        'Run the tests as root, or point DOCKER_HOST at a running engine.',
    );
  }
  const ip = findExecutable('ip');
  if (!ip) {
    throw new Error(
      "cannot start a private Docker engine: the `ip` command (Debian's iproute2) is needed to create its bridge. " +
        'Install it (`apt-get install -y iproute2`, or run scripts/install-ci-deps.sh as root).',
    );
  }
  const baseDir = options.baseDir ?? '/tmp';
  await cleanupLeftoverEngines({ baseDir, log });

  const iptables = resolveIptablesMode(options.iptables, log);
  const dir = await fsp.mkdtemp(path.join(baseDir, PRIVATE_ENGINE_DIR_PREFIX));
  const suffix = path.basename(dir).slice(PRIVATE_ENGINE_DIR_PREFIX.length);
  const state: PrivateEngineState = {
    dir,
    socketPath: path.join(dir, 'docker.sock'),
    bridge: `${BRIDGE_PREFIX}${suffix}`,
    subnet: undefined,
    containerdNamespace: `${BRIDGE_PREFIX}${suffix}`,
    dockerdPid: undefined,
    iptables,
  };
  const owner: OwnerRecord = {
    ownerPid: process.pid,
    ownerStartTicks: procStartTicks(process.pid),
    tag: options.tag ?? process.env.ECSLB_TEST_ENGINE_TAG,
    createdAt: new Date().toISOString(),
    bridge: state.bridge,
    containerdNamespace: state.containerdNamespace,
    iptables,
  };
  // Written first so that a crash from here on leaves something cleanup recognises.
  await writeOwner(dir, owner);
  const started = Date.now();
  try {
    if (state.socketPath.length > MAX_SOCKET_PATH) {
      throw new Error(`socket path ${state.socketPath} is too long for a unix socket; use a shorter baseDir`);
    }
    state.subnet = await createBridge(ip, state.bridge);
    owner.subnet = state.subnet;
    await writeOwner(dir, owner);

    const logPath = path.join(dir, LOG_FILE);
    const logFd = fs.openSync(logPath, 'a');
    const args = [
      '--data-root', path.join(dir, 'data'),
      '--exec-root', path.join(dir, 'exec'),
      '-H', `unix://${state.socketPath}`,
      '--pidfile', path.join(dir, 'docker.pid'),
      '--bridge', state.bridge,
      `--iptables=${iptables}`,
      `--ip-masq=${iptables}`,
      '--containerd-namespace', state.containerdNamespace,
      '--containerd-plugins-namespace', `${state.containerdNamespace}-plugins`,
      '--shutdown-timeout', '5',
    ];
    const child = spawn(dockerd, args, { stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    let exited: string | undefined;
    child.on('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `exit code ${code}`));
    child.on('error', (error) => (exited = `spawn error: ${error.message}`));
    child.unref();
    state.dockerdPid = child.pid;
    owner.dockerdPid = child.pid;
    await writeOwner(dir, owner);

    const timeoutMs = options.startTimeoutMs ?? 60_000;
    const dockerHost = `unix://${state.socketPath}`;
    let lastPing = 'not asked yet';
    for (;;) {
      if (exited !== undefined) {
        throw new Error(`private dockerd exited during startup (${exited})\n${await logTail(logPath)}`);
      }
      const ping = await pingDocker(dockerHost, 1_000);
      if (ping.ok) break;
      lastPing = ping.detail;
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `private dockerd did not answer at ${dockerHost} within ${timeoutMs} ms (last: ${lastPing})\n${await logTail(logPath)}`,
        );
      }
      await sleep(100);
    }
    log(
      `started private dockerd pid ${child.pid} in ${Date.now() - started} ms: ${dockerHost}, ` +
        `bridge ${state.bridge} ${state.subnet}, iptables ${iptables ? 'on' : 'off'}`,
    );
    let stopping: Promise<void> | undefined;
    return {
      dockerHost,
      socketPath: state.socketPath,
      started: true,
      pid: child.pid,
      dir,
      iptables,
      stop: () => (stopping ??= stopPrivateEngine(state, log)),
    };
  } catch (error) {
    await stopPrivateEngine(state, log).catch((cleanupError: unknown) =>
      log(`cleanup after failed start failed too: ${String(cleanupError)}`),
    );
    throw error;
  }
}

/** Everything a private engine may have left behind, removed in dependency order. */
async function stopPrivateEngine(state: PrivateEngineState, log: (m: string) => void): Promise<void> {
  const started = Date.now();
  const problems: string[] = [];
  if (state.dockerdPid !== undefined && processAlive(state.dockerdPid)) {
    // Remove containers while dockerd can still do it cleanly (network, proxies, mounts).
    try {
      const docker = connectDocker(`unix://${state.socketPath}`, 20_000);
      const containers = await docker.listContainers({ all: true });
      await Promise.all(
        containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)),
      );
    } catch (error) {
      problems.push(`removing containers: ${error instanceof Error ? error.message : String(error)}`);
    }
    await terminate(state.dockerdPid, 15_000);
  }
  // A crashed engine leaves containerd, shims and container processes running.
  await killRemnants(state);
  problems.push(...(await unmountUnder(state.dir)));
  if (findExecutable('ip')) {
    await execFileAsync('ip', ['link', 'delete', state.bridge]).catch(() => undefined);
  }
  if (state.iptables) await removeIptablesRules(state);
  if (mountPointsUnder(state.dir).length === 0) {
    await fsp.rm(state.dir, { recursive: true, force: true }).catch((error: unknown) => {
      problems.push(`removing ${state.dir}: ${String(error)}`);
    });
  } else {
    problems.push(`left ${state.dir} in place: mounts remain under it`);
  }
  if (problems.length > 0) log(`stopped private engine ${state.dir} with problems: ${problems.join('; ')}`);
  else log(`stopped private engine ${state.dir} in ${Date.now() - started} ms`);
}

function resolveIptablesMode(option: boolean | 'auto' | undefined, log: (m: string) => void): boolean {
  const fromEnv = process.env.ECSLB_TEST_DOCKERD_IPTABLES;
  const mode = option ?? (fromEnv === 'true' ? true : fromEnv === 'false' ? false : 'auto');
  if (mode !== 'auto') return mode;
  const others = dockerdsInMyNetns();
  if (others.length === 0) return true;
  log(
    `another dockerd (pid ${others.join(', ')}) manages iptables in this network namespace; the private ` +
      'dockerd runs with --iptables=false so that they do not flush each other\'s chains ' +
      '(published ports are then served by docker-proxy only)',
  );
  return false;
}

function dockerdsInMyNetns(): number[] {
  const mine = safeReadlink('/proc/self/ns/net');
  const found: number[] = [];
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    if (safeRead(`/proc/${pid}/comm`).trim() !== 'dockerd' || !processAlive(pid)) continue;
    if (safeReadlink(`/proc/${pid}/ns/net`) === mine) found.push(pid);
  }
  return found;
}

/** Creates the private engine's bridge on a 10.254.N.0/24 no route or address uses yet. */
async function createBridge(ip: string, bridge: string): Promise<string> {
  const { stdout: routes } = await execFileAsync(ip, ['-4', 'route', 'show', 'table', 'all']);
  const { stdout: addrs } = await execFileAsync(ip, ['-4', '-o', 'addr', 'show']);
  const used = [...`${routes}\n${addrs}`.matchAll(/\b(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?/g)]
    .map((m) => ({ address: m[1] ?? '0.0.0.0', bits: Number(m[2] ?? 32) }))
    // A catch-all such as 0.0.0.0/0 says nothing about which /24s are in use.
    .filter((r) => r.bits >= 8)
    .map((r) => cidr(r.address, r.bits));
  const start = Math.floor(Math.random() * 256);
  for (let i = 0; i < 256; i++) {
    const n = (start + i) % 256;
    const candidate = cidr(`10.254.${n}.0`, 24);
    if (used.some((u) => overlaps(u, candidate))) continue;
    await execFileAsync(ip, ['link', 'add', 'name', bridge, 'type', 'bridge']);
    await execFileAsync(ip, ['addr', 'add', `10.254.${n}.1/24`, 'dev', bridge]);
    await execFileAsync(ip, ['link', 'set', bridge, 'up']);
    return `10.254.${n}.0/24`;
  }
  throw new Error('no free 10.254.N.0/24 subnet for the private engine bridge');
}

function cidr(address: string, bits: number): { base: number; mask: number } {
  const value = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (value & mask) >>> 0, mask };
}

function overlaps(a: { base: number; mask: number }, b: { base: number; mask: number }): boolean {
  const mask = (a.mask & b.mask) >>> 0;
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

/** Deletes the rules dockerd added for our bridge or subnet (it never removes them itself). */
async function removeIptablesRules(state: PrivateEngineState): Promise<void> {
  if (!findExecutable('iptables')) return;
  for (const table of ['filter', 'nat']) {
    const listing = await execFileAsync('iptables', ['-t', table, '-S']).catch(() => undefined);
    if (!listing) continue;
    for (const line of listing.stdout.split('\n')) {
      if (!line.startsWith('-A ')) continue;
      const ours = line.includes(` ${state.bridge} `) || line.endsWith(` ${state.bridge}`) ||
        (state.subnet !== undefined && line.includes(` ${state.subnet} `));
      if (!ours) continue;
      const spec = line.slice(3).split(' ');
      await execFileAsync('iptables', ['-t', table, '-D', ...spec]).catch(() => undefined);
    }
  }
}

/** SIGTERM, wait, then SIGKILL; resolves once the process is gone (or a zombie). */
async function terminate(pid: number, graceMs: number): Promise<void> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) await sleep(100);
  if (processAlive(pid)) {
    signal(pid, 'SIGKILL');
    const killDeadline = Date.now() + 5_000;
    while (processAlive(pid) && Date.now() < killDeadline) await sleep(50);
  }
}

async function killRemnants(state: PrivateEngineState): Promise<void> {
  const dirSlash = `${state.dir}/`;
  const containerProcesses: number[] = [];
  const engineProcesses: number[] = [];
  for (const pid of listPids()) {
    if (pid === process.pid || !processAlive(pid)) continue;
    const cmdline = readCmdline(pid);
    if (cmdline.includes(dirSlash) || cmdline.includes(` -namespace ${state.containerdNamespace} `)) {
      engineProcesses.push(pid);
      continue;
    }
    // A container's root mount is an overlay inside our data root.
    const rootMount = safeRead(`/proc/${pid}/mountinfo`).split('\n', 1)[0] ?? '';
    if (rootMount.includes(dirSlash)) containerProcesses.push(pid);
  }
  for (const pid of containerProcesses) signal(pid, 'SIGKILL');
  for (const pid of engineProcesses) signal(pid, 'SIGKILL');
  const deadline = Date.now() + 5_000;
  while ([...containerProcesses, ...engineProcesses].some(processAlive) && Date.now() < deadline) await sleep(50);
}

async function unmountUnder(dir: string): Promise<string[]> {
  const problems: string[] = [];
  // Deepest first; repeat because one mount point can be stacked several times.
  for (let round = 0; round < 5; round++) {
    const points = mountPointsUnder(dir).sort((a, b) => b.length - a.length);
    if (points.length === 0) return problems;
    for (const point of points) {
      try {
        await execFileAsync('umount', [point]);
      } catch {
        await execFileAsync('umount', ['-l', point]).catch((error: unknown) => {
          if (round === 4) problems.push(`umount ${point}: ${String(error)}`);
        });
      }
    }
  }
  return problems;
}

function mountPointsUnder(dir: string): string[] {
  const points: string[] = [];
  for (const line of safeRead('/proc/self/mountinfo').split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const point = field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (point === dir || point.startsWith(`${dir}/`)) points.push(point);
  }
  return points;
}

async function logTail(logPath: string): Promise<string> {
  const text = await fsp.readFile(logPath, 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const errors = lines.filter((l) => /level=(error|fatal)|^failed to start daemon/i.test(l)).slice(-10);
  // containerd's gRPC connection chatter drowns everything else.
  const tail = lines.filter((l) => !l.includes('module=grpc')).slice(-25);
  const parts = [`--- dockerd log (${logPath}), last ${tail.length} lines without gRPC chatter ---`, ...tail];
  if (errors.length > 0) parts.unshift('--- dockerd errors ---', ...errors);
  return parts.join('\n');
}

async function readOwner(dir: string): Promise<OwnerRecord | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path.join(dir, OWNER_FILE), 'utf8')) as OwnerRecord;
  } catch {
    return undefined;
  }
}

async function writeOwner(dir: string, owner: OwnerRecord): Promise<void> {
  const file = path.join(dir, OWNER_FILE);
  await fsp.writeFile(`${file}.tmp`, `${JSON.stringify(owner, null, 2)}\n`);
  await fsp.rename(`${file}.tmp`, file);
}

function ownerAlive(owner: OwnerRecord): boolean {
  if (!processAlive(owner.ownerPid)) return false;
  return owner.ownerStartTicks === undefined || procStartTicks(owner.ownerPid) === owner.ownerStartTicks;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks): tells a reused pid apart. */
function procStartTicks(pid: number): string | undefined {
  const stat = safeRead(`/proc/${pid}/stat`);
  const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return afterComm[19];
}

function processAlive(pid: number): boolean {
  const stat = safeRead(`/proc/${pid}/stat`);
  if (stat === '') return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function listPids(): number[] {
  try {
    return fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return [];
  }
}

function readCmdline(pid: number): string {
  return safeRead(`/proc/${pid}/cmdline`).split('\0').join(' ');
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function safeReadlink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return '';
  }
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SYSTEM_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

function defaultLog(message: string): void {
  process.stderr.write(`[docker-engine] ${message}\n`);
}
