// The Reconciler when the state cannot be written (a full disk, a read-only directory) and
// after a state file that could not be used: it keeps serving, never registers a target it
// could not record first, retries the write with backoff, and after a recovery owns only
// what is on its current address. Against an in-memory ELBv2, wired as main.ts wires it.
import { describe, expect, it } from 'vitest';
import type { AddressSource } from '../../agent/core/address.ts';
import type { ContainerSnapshot, ContainerSource } from '../../agent/core/container.ts';
import { EMPTY_STATE, withNotes, type AgentState, type OwnedTarget, type StateNote, type StatePort, type StateRecovery } from '../../agent/core/state.ts';
import type { TargetRef } from '../../agent/core/target-registry.ts';
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';
import type { Log } from '../../agent/log.ts';
import { wireReconciler } from '../../agent/wiring.ts';
import { MemoryRegistry } from '../support/memory-registry.ts';
import { taskContainer } from '../support/task-container.ts';

const WEB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const HOST = '10.8.0.10';
const OLD = '10.8.0.6';
const OTHER_HOST = '10.8.0.11';

const container = (id: string, hostPort: number) => taskContainer(id, hostPort, { 'ecs-anywhere-lb.target-group-arn': WEB });

/** A disk that can fill up: while `full`, every save fails as writeFile does with ENOSPC. */
class Disk implements StatePort {
  readonly path = '/var/lib/ecs-anywhere-lb-agent/state.json';
  full = false;
  attempts = 0;
  constructor(
    public saved: AgentState = EMPTY_STATE,
    readonly recovery?: StateRecovery,
  ) {}
  load(): Promise<AgentState> {
    return Promise.resolve(this.saved);
  }
  save(state: AgentState): Promise<void> {
    this.attempts++;
    if (this.full) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    this.saved = structuredClone(state);
    return Promise.resolve();
  }
}

/** A disk that takes notes (as the journal does): each takes a few ms, and fails like a save while `full`. */
class NotingDisk extends Disk {
  constructor(readonly order: string[]) {
    super();
  }
  async note(n: StateNote): Promise<void> {
    this.attempts++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (this.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    this.saved = withNotes(this.saved, [n]);
    this.order.push(`noted ${n.targets.map((t) => t.port).join(' ')}`);
  }
}

/** A registry that prepares a request while the records are written, as the ELBv2 adapter does, and says when it sends. */
class AheadRegistry extends MemoryRegistry {
  readonly sendsAfter = true;
  constructor(readonly order: string[]) {
    super();
  }
  override async register(arn: string, targets: readonly TargetRef[], sendAfter?: Promise<void>): Promise<void> {
    const ports = targets.map((t) => t.port).join(' ');
    this.order.push(`prepared ${ports}`);
    await sendAfter;
    this.order.push(`sent ${ports}`);
    return super.register(arn, targets);
  }
}

function world(disk: Disk = new Disk(), elb: MemoryRegistry = new MemoryRegistry()) {
  let t = 1_700_000_000_000;
  const running = new Map<string, ContainerSnapshot>();
  const containers: ContainerSource = { list: () => Promise.resolve([...running.values()]) };
  const addresses: AddressSource = { current: () => Promise.resolve({ address: HOST }) };
  const logs: { level: string; message: string; fields?: object }[] = [];
  const log: Log = {
    error: (message, fields) => logs.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
    warn: (message, fields) => logs.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    info: () => {},
    debug: () => {},
    child: () => log,
  };
  const writes: boolean[] = [];
  const { reconciler } = wireReconciler(
    { fleetSize: 1, limits: DEFAULT_ELB_API_LIMITS, reconcileIntervalMs: 60_000, retryMaxDelayMs: 30_000, now: () => t, random: () => 0 },
    { registry: elb, containers, addresses, store: disk, log, rules: [], allowedTargetGroups: [WEB], includeNonEcs: false, vpcCidrs: [], availabilityZone: 'all', onStateWrite: (ok) => writes.push(ok) },
  );
  const recorded = () => disk.saved.targets.map((r) => `${r.id}:${r.port}`).sort();
  return {
    disk, elb, logs, writes, reconciler, recorded,
    start: (c: ContainerSnapshot) => running.set(c.id, c),
    stop: (c: ContainerSnapshot) => running.delete(c.id),
    pass: (reason = 'test') => reconciler.reconcile([reason]),
    advance: (ms: number) => (t += ms),
  };
}

describe('Reconciler: a state that cannot be written', () => {
  it('registers nothing it could not record, keeps what is registered, still deregisters, and catches up when the disk frees', async () => {
    const w = world();
    const a = container('a', 32768);
    const b = container('b', 32769);
    const c = container('c', 32770);
    w.start(a);
    w.start(b);
    await w.pass('startup');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`]);

    w.disk.full = true;
    w.start(c);
    w.stop(b);
    const held = await w.pass('event:start');
    // c is not registered (its record could not be written); b's deregistration goes out; a stays.
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`].filter((x) => x !== `${HOST}:32769`));
    expect(w.elb.changeCalls().filter((x) => x.action === 'RegisterTargets' && x.targets.includes(`${HOST}:32770`))).toEqual([]);
    expect(held).toMatchObject({ heldForState: 1, settled: false, deregistered: 1 });
    // The pass asks to come back when the write's backoff ends (dice 0: half the 1 s base).
    expect(held.nextPassInMs).toBe(500);
    // What is on disk still claims every target this host registered.
    expect(w.recorded()).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
    expect(w.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'cannot write state /var/lib/ecs-anywhere-lb-agent/state.json: ENOSPC: no space left on device, write; registering nothing new until it can be written (registered targets stay, stopped containers are still deregistered); retrying in 500 ms (attempt 1)',
    ]);
    expect(w.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      `not registering tg/web ${HOST}:32770 yet: its record cannot be written to /var/lib/ecs-anywhere-lb-agent/state.json (ENOSPC: no space left on device, write)`,
    ]);

    // Passes within the backoff do not touch the disk at all.
    const attempts = w.disk.attempts;
    w.advance(100);
    await w.pass('event:start');
    expect(w.disk.attempts).toBe(attempts);

    // Still full at the retry: the backoff grows, the target still waits, nothing new is logged as an error.
    w.advance(1000);
    const again = await w.pass('retry');
    expect(again).toMatchObject({ heldForState: 1, settled: false });
    expect(w.disk.attempts).toBeGreaterThan(attempts);
    expect(w.logs.filter((l) => l.level === 'error')).toHaveLength(1);

    w.disk.full = false;
    w.advance(again.nextPassInMs ?? 0);
    const caught = await w.pass('retry');
    expect(caught).toMatchObject({ registered: 1, settled: true });
    expect(caught.heldForState).toBeUndefined();
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32770`]);
    expect(w.recorded()).toEqual([`${HOST}:32768`, `${HOST}:32770`]);
    expect(w.writes.filter((ok) => !ok).length).toBeGreaterThanOrEqual(2);
    expect(w.writes.at(-1)).toBe(true);
    expect(w.reconciler.stateWriteFailure).toBeUndefined();
  });

  it('records the target before RegisterTargets, in the same write as its address', async () => {
    const w = world();
    const seen: AgentState[] = [];
    w.elb.beforeChange = () => seen.push(structuredClone(w.disk.saved));
    w.start(container('a', 32768));
    await w.pass('startup');
    expect(seen[0]?.addresses).toEqual([HOST]);
    expect(seen[0]?.targets.map((t) => `${t.id}:${t.port}`)).toEqual([`${HOST}:32768`]);
  });

  it('a full disk at start: the agent registers nothing, then everything once it can write', async () => {
    const w = world();
    w.disk.full = true;
    w.start(container('a', 32768));
    const first = await w.pass('startup');
    expect(first).toMatchObject({ registered: 0, heldForState: 1, settled: false });
    expect(w.elb.holds(WEB)).toEqual([]);
    w.disk.full = false;
    w.advance(first.nextPassInMs ?? 0);
    await w.pass('retry');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.disk.saved.addresses).toEqual([HOST]);
  });
});

describe('Reconciler: after a state file that could not be used', () => {
  const record = (id: string, port: number): OwnedTarget => ({ targetGroupArn: WEB, id, port });

  it('owns what is on its current address (read from its groups), and nothing a salvaged record names elsewhere', async () => {
    const recovery: StateRecovery = {
      problem: 'state /var/lib/ecs-anywhere-lb-agent/state.json is cut short (812 bytes, as after a power loss mid-write)',
      movedTo: '/var/lib/ecs-anywhere-lb-agent/state.json.corrupt-2026-12-02T01-02-03Z',
      salvaged: [record(HOST, 32768), record(OLD, 31000)],
    };
    const w = world(new Disk(EMPTY_STATE, recovery));
    // In the group: a stale target of this host (its container is gone), a live one, one the salvage names on an old address, another host's.
    w.elb.put(WEB, `${HOST}:32768`, `${HOST}:32771`, `${OLD}:31000`, `${OTHER_HOST}:32768`);
    const live = container('live', 32771);
    w.start(live);
    const fresh = container('new', 32772);
    w.start(fresh);
    await w.pass('startup');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32771`, `${HOST}:32772`, `${OTHER_HOST}:32768`, `${OLD}:31000`]);
    expect(w.elb.changeCalls().flatMap((c) => c.targets).filter((t) => t.startsWith(OLD) || t.startsWith(OTHER_HOST))).toEqual([]);
    expect(w.recorded()).toEqual([`${HOST}:32771`, `${HOST}:32772`]);
    const errors = w.logs.filter((l) => l.level === 'error');
    expect(errors.map((l) => l.message)).toEqual([
      `${recovery.problem}: moved to ${recovery.movedTo}; starting over with what this host can prove is its own, every target on its current address ${HOST}; ` +
        `2 target record(s) could be read from it: 1 on the current address kept, 1 on other addresses no longer owned (tg/web ${OLD}:31000): deregister those by hand if they are this host's`,
    ]);
    expect(errors[0]?.fields).toMatchObject({ event: 'state-recovered', salvaged: 2, kept: 1, lost: 1 });
  });

  it('deregister --all on a damaged state: said once, and only what is on the current address goes', async () => {
    const recovery: StateRecovery = { problem: 'state /s/state.json is cut short (9 bytes)', movedTo: '/s/state.json.corrupt-1', salvaged: [record(OLD, 31000)] };
    const w = world(new Disk(EMPTY_STATE, recovery));
    w.elb.put(WEB, `${HOST}:32768`, `${OLD}:31000`, `${OTHER_HOST}:32768`);
    const { deregistered } = await w.reconciler.deregisterAll('manual-deregister');
    expect(deregistered.map((t) => `${t.id}:${t.port}`)).toEqual([`${HOST}:32768`]);
    expect(w.elb.holds(WEB)).toEqual([`${OTHER_HOST}:32768`, `${OLD}:31000`]);
    expect(w.logs.filter((l) => l.level === 'error').map((l) => (l.fields as { event?: string } | undefined)?.event)).toEqual(['state-recovered']);
  });

  it('says when nothing could be read from it', async () => {
    const w = world(new Disk(EMPTY_STATE, { problem: 'state /s/state.json is not valid JSON (x)', movedTo: '/s/state.json.corrupt-1', salvaged: [] }));
    await w.pass('startup');
    expect(w.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      `state /s/state.json is not valid JSON (x): moved to /s/state.json.corrupt-1; starting over with what this host can prove is its own, every target on its current address ${HOST}; no target record could be read from it`,
    ]);
  });

  it('with notes and a registry that prepares ahead: a request leaves only after its note, and none when the note fails', async () => {
    const order: string[] = [];
    const w = world(new NotingDisk(order), new AheadRegistry(order));
    const a = container('a', 32768);
    const b = container('b', 32769);
    w.start(a);
    await w.pass('startup');
    // Prepared while the note was written, sent once it was on disk.
    expect(order).toEqual(['prepared 32768', 'noted 32768', 'sent 32768']);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);

    w.disk.full = true;
    w.start(b);
    const held = await w.pass('event:start');
    expect(order.slice(3)).toEqual(['prepared 32769']);
    expect(w.elb.changeCalls().filter((x) => x.action === 'RegisterTargets' && x.targets.includes(`${HOST}:32769`))).toEqual([]);
    expect(held).toMatchObject({ heldForState: 1, failed: 0, settled: false });
    expect(w.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      `not registering tg/web ${HOST}:32769 yet: its record cannot be written to /var/lib/ecs-anywhere-lb-agent/state.json (ENOSPC: no space left on device, write)`,
    ]);

    w.disk.full = false;
    w.advance(1000);
    const after = await w.pass('retry');
    expect(after).toMatchObject({ registered: 1, settled: true });
    expect(order.slice(4)).toEqual(['prepared 32769', 'noted 32769', 'sent 32769']);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
    expect(w.recorded()).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
  });
});
