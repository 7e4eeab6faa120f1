/**
 * The files a Docker `kill` walks through on its way to the DeregisterTargets call, measured
 * rather than read off the code: `npx tsx scripts/bench/kill-walk.ts [--json FILE]`.
 *
 * The agent is built as it runs (wiring.ts's wireReconciler, run.ts's wireLoop: the real
 * container source, event watcher and loop) over a fake Docker engine (events written into a
 * stream, one running ECS task container mapped to one target group) and an in-memory ELB
 * (test/support/memory-registry.ts). A start registers the target; once the agent is quiet, a
 * worker thread connects the inspector to this thread, puts a breakpoint on every possible break
 * location of every file under agent/, and the kill is written into the event stream. Each pause
 * records its file and resumes, until the registry's `deregister` is entered. Exact, not
 * sampled: every statement of agent/ that runs in between pauses once. Consecutive pauses in one
 * file are one visit; log.ts and trace.ts (called from everywhere) are listed apart, not counted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type Dockerode from 'dockerode';
import type { LoopTimers } from '../../agent/reconcile/loop.ts';
import { wireLoop } from '../../agent/commands/run.ts';
import { DockerContainerSource } from '../../agent/docker/docker-source.ts';
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';
import { createAddressSource } from '../../agent/host/address-source.ts';
import { createLogger } from '../../agent/log.ts';
import { StateStore } from '../../agent/state/state-store.ts';
import { NO_TRACE } from '../../agent/trace.ts';
import { wireReconciler } from '../../agent/wiring.ts';
import { MemoryRegistry } from '../../test/support/memory-registry.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REGISTRY_FILE = fileURLToPath(new URL('../../test/support/memory-registry.ts', import.meta.url));
/** Not counted: logging and tracing, called from everywhere. */
const ASIDE = new Set(['agent/log.ts', 'agent/trace.ts']);

const GROUP = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const ID = 'c0ffee'.padEnd(64, '0');
const TASK = 'arn:aws:ecs:us-east-1:123456789012:task/default/c0ffee';
const HOST_PORT = 32768;
const LABELS = {
  'com.amazonaws.ecs.task-arn': TASK,
  'com.amazonaws.ecs.container-name': 'web',
  'com.amazonaws.ecs.task-definition-family': 'web',
  'ecs-anywhere-lb.target-group-arn': GROUP,
};

/** The walk: each visit one file (consecutive steps in one file are one visit). */
export interface KillWalk {
  readonly visits: string[];
  /** Files visited more than once, with how many visits. */
  readonly revisited: Record<string, number>;
  /** Visits that came back into a file already visited. */
  readonly revisits: number;
  readonly files: number;
  /** log.ts and trace.ts: run on the way, not counted. */
  readonly aside: string[];
  /** Where the walk ended: the registry handed the DeregisterTargets call. */
  readonly registry: string;
  /** Calls into functions of agent/ recorded. */
  readonly calls: number;
}

/** One call into a function of agent/ (a return to a caller, or an async function's resumption, is none). */
export interface Entry {
  /** The function's file, relative to the repository. */
  readonly file: string;
  /** The caller's file ('' when called from the event loop). */
  readonly from: string;
}

/** Folds the calls into visits (a call from another file starts one; consecutive ones into one file are one) and counts the revisits. */
export function walkOf(entries: readonly Entry[], registry: string): KillWalk {
  const visits: string[] = [];
  const aside = new Set<string>();
  for (const { file, from } of entries) {
    if (ASIDE.has(file)) aside.add(file);
    else if (from !== file && visits.at(-1) !== file) visits.push(file);
  }
  const counts = new Map<string, number>();
  for (const v of visits) counts.set(v, (counts.get(v) ?? 0) + 1);
  const revisited = Object.fromEntries([...counts].filter(([, n]) => n > 1));
  return { visits, revisited, revisits: visits.length - counts.size, files: counts.size, aside: [...aside], registry, calls: entries.length };
}

/** The inspector's side, in a worker: breakpoints everywhere under agent/, one pause recorded at a time. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Session } = require('node:inspector');
const session = new Session();
session.connectToMainThread();
const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
const scripts = new Map();
session.on('Debugger.scriptParsed', (m) => scripts.set(m.params.scriptId, m.params.url));
/** scriptId -> its break locations, in order: a pause at a function's first one is a call into it. */
const starts = new Map();
const firstAfter = (scriptId, line, column) => (starts.get(scriptId) || []).find((l) => l.lineNumber > line || (l.lineNumber === line && l.columnNumber >= column));
const entries = [];
let ended = false;
session.on('Debugger.paused', (m) => {
  const [top, caller] = m.params.callFrames;
  const url = scripts.get(top.location.scriptId) || top.url;
  if (!ended && url === workerData.registryUrl && top.functionName === 'deregister') {
    ended = true;
    return void post('Debugger.disable').then(() => parentPort.postMessage({ entries }));
  }
  const f = top.functionLocation;
  const first = f && firstAfter(f.scriptId, f.lineNumber, f.columnNumber);
  const called = first !== undefined && first.lineNumber === top.location.lineNumber && first.columnNumber === top.location.columnNumber;
  if (called && url !== workerData.registryUrl) entries.push({ url, from: caller ? scripts.get(caller.location.scriptId) || caller.url : '', fn: top.functionName });
  void post('Debugger.resume');
});
parentPort.on('message', async () => {
  await post('Debugger.enable');
  const wanted = [...scripts].filter(([, url]) => url.startsWith(workerData.agentUrl) || url === workerData.registryUrl);
  for (const [scriptId] of wanted) {
    const { locations } = await post('Debugger.getPossibleBreakpoints', { start: { scriptId, lineNumber: 0, columnNumber: 0 } });
    starts.set(scriptId, locations);
    await Promise.all(locations.map((l) => post('Debugger.setBreakpoint', { location: { scriptId, lineNumber: l.lineNumber, columnNumber: l.columnNumber } }).catch(() => undefined)));
  }
  parentPort.postMessage({ armed: wanted.length });
});
`;

/** A Docker engine with one running ECS task container: its listing, its inspect, and an event stream the caller writes. */
function fakeDocker(events: PassThrough): Dockerode {
  const created = '2026-01-01T00:00:00.000000000Z';
  const info = {
    Id: ID, Names: ['/ecs-web-1-web-c0ffee'], Image: 'nginx', ImageID: 'sha256:0', Command: 'nginx', Created: 1, Labels: LABELS, State: 'running', Status: 'Up 1 second',
    Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: HOST_PORT, Type: 'tcp' }], HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2' } } }, Mounts: [],
  };
  const inspect = {
    Id: ID, Name: '/ecs-web-1-web-c0ffee', State: { Running: true, Status: 'running', StartedAt: created },
    Config: { Labels: LABELS, ExposedPorts: { '80/tcp': {} }, Env: [] }, HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(HOST_PORT) }] }, Networks: { bridge: { IPAddress: '172.17.0.2' } } },
  };
  let running = false;
  const fake = {
    getEvents: () => Promise.resolve(events),
    listContainers: () => Promise.resolve(running ? [info] : []),
    getContainer: () => ({ inspect: () => Promise.resolve(inspect) }),
    start: () => (running = true),
  };
  return fake as unknown as Dockerode;
}

const eventLine = (action: string, attributes: Record<string, string> = {}) =>
  `${JSON.stringify({ Type: 'container', Action: action, Actor: { ID, Attributes: { name: 'ecs-web-1-web-c0ffee', ...attributes } }, scope: 'local', time: Math.floor(Date.now() / 1000), timeNano: Date.now() * 1_000_000 })}\n`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves to undefined after `ms`, without keeping the process alive. */
const deadline = (ms: number) => new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref());

/** A settled host: no pass due within this long once the start's follow-up passes (its health reads) are done. */
const QUIET_MS = 5_000;

/** The loop's timers, real until `hold()`: then pending ones are dropped and new ones never fire. */
class QuietTimers implements LoopTimers {
  private readonly pending = new Map<object, { timer: NodeJS.Timeout; due: number }>();
  private held = false;

  now(): number {
    return performance.now();
  }

  set(fn: () => void, ms: number): unknown {
    const key = {};
    if (this.held) return key;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      fn();
    }, ms);
    this.pending.set(key, { timer, due: this.now() + ms });
    return key;
  }

  clear(handle: unknown): void {
    const p = this.pending.get(handle as object);
    if (p) clearTimeout(p.timer);
    this.pending.delete(handle as object);
  }

  /** Nothing is due within `ms`. */
  quietFor(ms: number): boolean {
    return [...this.pending.values()].every((p) => p.due - this.now() > ms);
  }

  hold(): void {
    this.held = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}

/** Builds the agent, starts the container, and measures the kill's walk. */
export async function measureKillWalk(): Promise<KillWalk> {
  const dir = mkdtempSync(join(tmpdir(), 'kill-walk-'));
  const events = new PassThrough();
  const docker = fakeDocker(events);
  const elb = new MemoryRegistry();
  const log = createLogger({ format: 'json', level: 'debug', stream: new PassThrough().resume() });
  const containers = new DockerContainerSource(docker);
  const { reconciler } = wireReconciler(
    { fleetSize: 1, limits: DEFAULT_ELB_API_LIMITS, reconcileIntervalMs: 60_000, retryMaxDelayMs: 30_000 },
    {
      registry: elb, containers, addresses: createAddressSource({ hostIp: '10.8.0.10', allowAnyAddress: false, vpcCidrs: [] }), store: new StateStore(dir),
      log, rules: [], includeNonEcs: false, vpcCidrs: [], availabilityZone: 'all', tracer: NO_TRACE,
    },
  );
  const timers = new QuietTimers();
  const { loop, watcher, trigger } = wireLoop({ docker, containers, reconciler, log, tracer: NO_TRACE, intervalMs: 60_000, retryMaxDelayMs: 30_000, onDockerOk: () => undefined, timers });
  const worker = new Worker(WORKER, { eval: true, workerData: { agentUrl: `file://${ROOT}agent/`, registryUrl: `file://${REGISTRY_FILE}` } });
  const message = () => new Promise<{ entries?: { url: string; from: string; fn: string }[]; armed?: number }>((resolve) => worker.once('message', resolve));
  try {
    await watcher.start();
    trigger('startup');
    await loop.idle();
    (docker as unknown as { start(): void }).start();
    events.write(eventLine('start'));
    // Waits for what must follow (the registration, the passes it asked for, the state written behind them), not for a time.
    for (let i = 0; i < 3_000 && elb.holds(GROUP).length === 0; i++) await sleep(10);
    if (elb.holds(GROUP).length === 0) throw new Error('the start registered nothing within 30 s');
    for (let i = 0; ; i++) {
      await reconciler.flush();
      // No pass runs (idle resolves in a microtask, before any timer can fire) and none is due soon.
      await loop.idle();
      if (timers.quietFor(QUIET_MS)) break;
      if (i >= 600) throw new Error(`the agent did not settle: a pass was still due within ${QUIET_MS} ms after 60 s`);
      await sleep(100);
    }
    // From here no timer fires: the only pass after the kill is the kill's own.
    timers.hold();

    const armed = message();
    worker.postMessage('arm');
    const t0 = performance.now();
    await armed;
    console.error(`armed in ${Math.round(performance.now() - t0)} ms`);
    const walked = message();
    events.write(eventLine('kill', { signal: '15' }));
    const t1 = performance.now();
    const { entries } = (await Promise.race([walked, deadline(60_000)])) ?? {};
    if (entries === undefined) throw new Error('the kill reached no DeregisterTargets within 60 s');
    console.error(`walked in ${Math.round(performance.now() - t1)} ms`);
    const rel = (url: string) => (url.startsWith('file://') ? relative(ROOT, fileURLToPath(url)) : url);
    if (process.env.KILL_WALK_CALLS) writeFileSync(process.env.KILL_WALK_CALLS, entries.map((e) => `${rel(e.from)} -> ${rel(e.url)} ${e.fn}`).join('\n'));
    return walkOf(entries.map((e) => ({ file: rel(e.url), from: rel(e.from) })), relative(ROOT, REGISTRY_FILE));
  } finally {
    const t2 = performance.now();
    await worker.terminate();
    console.error(`terminated in ${Math.round(performance.now() - t2)} ms`);
    watcher.stop();
    await loop.stop();
    await reconciler.flush().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function show(walk: KillWalk): string {
  const seen = new Map<string, number>();
  const lines = walk.visits.map((v, i) => {
    const n = (seen.get(v) ?? 0) + 1;
    seen.set(v, n);
    return `${String(i + 1).padStart(3)}. ${v}${n > 1 ? `   (again: visit ${n})` : ''}`;
  });
  return [
    'kill: Docker event -> DeregisterTargets, the files under agent/ entered, in order',
    ...lines,
    `  -> ${walk.registry} (deregister)`,
    `${walk.visits.length} visits, ${walk.files} files, ${walk.revisits} revisits${walk.revisits > 0 ? `: ${Object.entries(walk.revisited).map(([f, n]) => `${f} x${n}`).join(', ')}` : ''}`,
    `not counted (logging, tracing): ${walk.aside.join(', ') || 'none'}; ${walk.calls} calls into agent/ recorded`,
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--json');
  const walk = await measureKillWalk();
  console.log(show(walk));
  const json = JSON.stringify(walk, null, 2);
  if (at >= 0 && process.argv[at + 1] !== undefined) writeFileSync(process.argv[at + 1]!, `${json}\n`);
  else console.log(json);
}
