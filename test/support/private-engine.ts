// A private dockerd a test may stop and start again, keeping its data root, exec root,
// socket and bridge: an engine restart under a running agent, never the shared engine.
// It runs with --iptables=false (the shared engine manages iptables in this namespace), so
// docker-proxy serves published ports, and without live-restore, so stopping it stops its
// containers. Its directory follows docker-engine.ts's layout (ecslbd-*, owner.json): a
// run that dies leaves nothing the next engine start (or `with-docker.ts cleanup`) does
// not remove, and teardown reuses that same cleanup.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PRIVATE_ENGINE_DIR_PREFIX, cleanupLeftoverEngines, pingDocker } from './docker-engine.ts';
import { sleep } from './wait.ts';

const execFileAsync = promisify(execFile);

/** A private engine that can be stopped and started again with the same state. */
export interface RestartableEngine {
  /** Value for DOCKER_HOST. */
  readonly dockerHost: string;
  readonly socketPath: string;
  readonly dir: string;
  /** The running dockerd's pid, undefined while stopped. */
  readonly pid: number | undefined;
  /** Starts dockerd (again) and resolves once it answers /_ping; returns how long that took. */
  start(): Promise<number>;
  /** SIGTERM to dockerd (it stops its containers first); resolves once it has exited; returns how long that took. */
  stop(): Promise<number>;
  /** Stops it for good and removes everything it made (containers, mounts, bridge, directory). */
  teardown(): Promise<void>;
}

function log(message: string): void {
  process.stderr.write(`[private-engine] ${message}\n`);
}

async function freeSubnet(): Promise<number> {
  const { stdout: routes } = await execFileAsync('ip', ['-4', 'route', 'show', 'table', 'all']);
  const { stdout: addrs } = await execFileAsync('ip', ['-4', '-o', 'addr', 'show']);
  const used = `${routes}\n${addrs}`;
  const start = Math.floor(Math.random() * 256);
  for (let i = 0; i < 256; i++) {
    const n = (start + i) % 256;
    if (!used.includes(`10.254.${n}.`)) return n;
  }
  throw new Error('no free 10.254.N.0/24 for the private engine bridge');
}

function processAlive(pid: number): boolean {
  const stat = (() => {
    try {
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return '';
    }
  })();
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return stat !== '' && state !== 'Z' && state !== 'X';
}

function dockerd(): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  const found = dirs.map((d) => path.join(d, 'dockerd')).find((p) => fs.existsSync(p));
  if (!found) throw new Error("dockerd not found: install Debian's docker.io (scripts/install-ci-deps.sh)");
  return found;
}

/** Creates the engine's directory and bridge and starts dockerd. */
export async function startRestartableEngine(): Promise<RestartableEngine> {
  // Engines of runs that died (owner gone), this helper's or docker-engine.ts's alike.
  await cleanupLeftoverEngines({ log });
  const dir = await fsp.mkdtemp(path.join('/tmp', PRIVATE_ENGINE_DIR_PREFIX));
  const suffix = path.basename(dir).slice(PRIVATE_ENGINE_DIR_PREFIX.length);
  const bridge = `ecslb-${suffix}`;
  const namespace = `ecslb-${suffix}`;
  const socketPath = path.join(dir, 'docker.sock');
  const tag = `restartable-${process.pid}-${randomBytes(4).toString('hex')}`;
  const owner: Record<string, unknown> = {
    ownerPid: process.pid,
    ownerStartTicks: fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19],
    tag,
    createdAt: new Date().toISOString(),
    bridge,
    containerdNamespace: namespace,
    iptables: false,
  };
  const writeOwner = async () => {
    await fsp.writeFile(path.join(dir, 'owner.json.tmp'), `${JSON.stringify(owner, null, 2)}\n`);
    await fsp.rename(path.join(dir, 'owner.json.tmp'), path.join(dir, 'owner.json'));
  };
  await writeOwner();

  let pid: number | undefined;
  let exited: Promise<void> | undefined;
  const engine: RestartableEngine = {
    dockerHost: `unix://${socketPath}`,
    socketPath,
    dir,
    get pid() {
      return pid;
    },
    async start() {
      if (pid !== undefined) throw new Error('private engine already running');
      const started = Date.now();
      const logFd = fs.openSync(path.join(dir, 'dockerd.log'), 'a');
      const child = spawn(dockerd(), [
        '--data-root', path.join(dir, 'data'),
        '--exec-root', path.join(dir, 'exec'),
        '-H', `unix://${socketPath}`,
        '--pidfile', path.join(dir, 'docker.pid'),
        '--bridge', bridge,
        '--iptables=false',
        '--ip-masq=false',
        '--containerd-namespace', namespace,
        '--containerd-plugins-namespace', `${namespace}-plugins`,
        '--shutdown-timeout', '5',
      ], { stdio: ['ignore', logFd, logFd] });
      fs.closeSync(logFd);
      child.unref();
      let exitNote: string | undefined;
      exited = new Promise((resolve) => child.on('exit', (code, signal) => {
        exitNote = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      }));
      pid = child.pid;
      owner.dockerdPid = pid;
      await writeOwner();
      for (;;) {
        if (exitNote !== undefined) {
          pid = undefined;
          throw new Error(`private dockerd exited while starting (${exitNote}); see ${path.join(dir, 'dockerd.log')}`);
        }
        if ((await pingDocker(engine.dockerHost, 1_000)).ok) break;
        if (Date.now() - started > 60_000) throw new Error(`private dockerd did not answer within 60 s; see ${path.join(dir, 'dockerd.log')}`);
        await sleep(50);
      }
      return Date.now() - started;
    },
    async stop() {
      const current = pid;
      if (current === undefined) return 0;
      const started = Date.now();
      process.kill(current, 'SIGTERM');
      const deadline = Date.now() + 30_000;
      while (processAlive(current) && Date.now() < deadline) await sleep(50);
      if (processAlive(current)) throw new Error(`private dockerd ${current} did not exit within 30 s of SIGTERM`);
      await exited;
      pid = undefined;
      return Date.now() - started;
    },
    async teardown() {
      // docker-engine.ts's cleanup removes engines recorded with this tag: containers first, then
      // dockerd, containerd and shims, mounts, the bridge and the directory.
      if (pid === undefined) delete owner.dockerdPid;
      await writeOwner().catch(() => undefined);
      await cleanupLeftoverEngines({ tag, log });
      pid = undefined;
    },
  };

  try {
    const n = await freeSubnet();
    owner.subnet = `10.254.${n}.0/24`;
    await writeOwner();
    await execFileAsync('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    await execFileAsync('ip', ['addr', 'add', `10.254.${n}.1/24`, 'dev', bridge]);
    await execFileAsync('ip', ['link', 'set', bridge, 'up']);
    const ms = await engine.start();
    log(`started restartable dockerd pid ${pid} in ${ms} ms: ${engine.dockerHost}, bridge ${bridge} 10.254.${n}.0/24, iptables off`);
  } catch (error) {
    await engine.teardown().catch(() => undefined);
    throw error;
  }
  return engine;
}
