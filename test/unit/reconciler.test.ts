// The Reconciler against an in-memory ELBv2: what the target groups hold, which calls were
// made (and which were not), and what the state records, after each pass. Wired as main.ts
// wires it: the real ApiPace and PacedRegistry (and DryRunRegistry + MemoryStatePort for a
// dry run), with an injected clock and dice.
import { describe, expect, it } from 'vitest';
import type { AddressChoice, AddressSource } from '../../agent/core/address.ts';
import { ECS_TASK_ARN_LABEL, type ContainerSnapshot, type ContainerSource } from '../../agent/core/container.ts';
import { EMPTY_STATE, STATE_VERSION, type AgentState, type OwnedTarget, type StatePort } from '../../agent/core/state.ts';
import { DEFAULT_ELB_API_LIMITS, fleetChangeWindowMs } from '../../agent/fleet/api-budget.ts';
import type { Log } from '../../agent/log.ts';
import { DryRunRegistry, MemoryStatePort } from '../../agent/reconcile/dry-run.ts';
import type { PassResult } from '../../agent/reconcile/reconciler.ts';
import { fleetMember } from '../../agent/reconcile/fleet-member.ts';
import { MemoryRegistry, type RecordedCall } from '../support/memory-registry.ts';
import { taskContainer } from '../support/task-container.ts';
import { OperationError } from '../../agent/errors.ts';

const WEB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const API = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
const HOST = '10.8.0.10';
const OLD = '10.8.0.6';
const OTHER_HOST = '10.8.0.11';
const T0 = 1_700_000_000_000;
const MIN_READ_INTERVAL_MS = 60_000;
/** --fleet-size 10000, one group, default limits: the fleet read window is 2,000,000 ms. */
const BIG_FLEET = 10_000;

/** An ECS task container publishing container port 80 on `hostPort`, asking to join `groups`. */
function container(id: string, hostPort: number, groups: string[], over: Partial<ContainerSnapshot> = {}): ContainerSnapshot {
  return taskContainer(id, hostPort, groups.length === 1 ? { 'ecs-anywhere-lb.target-group-arn': groups[0] as string } : { 'ecs-anywhere-lb.targets': groups.join(',') }, over);
}

/** The containers on this host. */
class MemoryHost implements ContainerSource {
  private readonly byId = new Map<string, ContainerSnapshot>();
  start(...cs: ContainerSnapshot[]): void {
    for (const c of cs) this.byId.set(c.id, c);
  }
  /** Docker's `kill`: the container is on its way out. */
  stopping(...cs: ContainerSnapshot[]): void {
    for (const c of cs) this.byId.set(c.id, { ...(this.byId.get(c.id) ?? c), stopping: true });
  }
  list(): Promise<ContainerSnapshot[]> {
    return Promise.resolve([...this.byId.values()]);
  }
}

/** The address this host registers; set it to change it. */
class FixedAddress implements AddressSource {
  constructor(public address: string | undefined) {}
  current(): Promise<AddressChoice> {
    return Promise.resolve(this.address !== undefined ? { address: this.address, interface: 'tun0' } : { problem: 'no address on tun0' });
  }
}

/** The state on "disk": what was last saved, and how many saves there were. */
class MemoryStore implements StatePort {
  readonly path = '/var/lib/ecs-anywhere-lb-agent/state.json';
  saves = 0;
  constructor(public saved: AgentState = EMPTY_STATE) {}
  load(): Promise<AgentState> {
    return Promise.resolve(this.saved);
  }
  save(state: AgentState): Promise<void> {
    this.saves++;
    this.saved = structuredClone(state);
    return Promise.resolve();
  }
}

const quiet: Log = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => quiet };

interface WorldOptions {
  fleetSize?: number;
  /** The dice of every part (first-read placement, read jitter, backoff, pace hold). */
  random?: () => number;
  state?: AgentState;
  address?: string;
}

/** One host: its containers, address and state, an in-memory ELBv2, and agent processes started on it. */
function world(o: WorldOptions = {}) {
  let t = T0;
  const now = () => t;
  const random = o.random ?? (() => 0.5);
  const fleetSize = o.fleetSize ?? BIG_FLEET;
  const elb = new MemoryRegistry();
  const host = new MemoryHost();
  const address = new FixedAddress(o.address ?? HOST);
  const store = new MemoryStore(o.state);
  const drained: { arn: string; ms: number }[] = [];

  /** Starts an agent process (a restart is another start): its own pace, views and schedule. */
  const start = (p: { dryRun?: boolean } = {}) => {
    const statePort = p.dryRun ? new MemoryStatePort(store) : store;
    // Wired as agent/main.ts wires it.
    const { reconciler, pace } = fleetMember(
      { fleetSize, limits: DEFAULT_ELB_API_LIMITS, reconcileIntervalMs: MIN_READ_INTERVAL_MS, retryMaxDelayMs: 30_000, now, random },
      {
        registry: p.dryRun ? new DryRunRegistry(elb) : elb,
        containers: host,
        addresses: address,
        store: statePort,
        log: quiet,
        rules: [],
        includeNonEcs: false,
        vpcCidrs: [],
        availabilityZone: 'all',
        onDrained: (arn, ms) => drained.push({ arn, ms }),
      },
    );
    return { reconciler, pace, pass: (...reasons: string[]) => reconciler.reconcile(reasons.length > 0 ? reasons : ['test']) };
  };

  /** The calls made since `mark` (the number of calls recorded before). */
  const since = (mark: number): RecordedCall[] => elb.calls.slice(mark);
  const recorded = () => store.saved.targets.map((r) => `${r.targetGroupArn === WEB ? 'web' : r.targetGroupArn === API ? 'api' : r.targetGroupArn} ${r.id}:${r.port}`).sort();
  return { elb, host, address, store, drained, start, since, recorded, now, advance: (ms: number) => (t += ms), mark: () => elb.calls.length };
}

const call = (action: RecordedCall['action'], group: string, targets: string[], error?: string): RecordedCall => ({ action, group, targets, ...(error ? { error } : {}) });
const byGroup = (calls: RecordedCall[]) => [...calls].sort((a, b) => a.group.localeCompare(b.group) || a.action.localeCompare(b.action));

describe('Reconciler: writes without reads', () => {
  it('first pass with fresh state registers at once, without a read, when the first-read window has not come', async () => {
    const w = world({ fleetSize: BIG_FLEET });
    const c1 = container('c1', 32768, [WEB]);
    w.host.start(c1);
    const result = await w.start().pass('startup');
    expect(w.elb.calls).toEqual([call('RegisterTargets', WEB, [`${HOST}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.store.saved.addresses).toEqual([HOST]);
    expect(w.store.saved.targets).toEqual([
      { targetGroupArn: WEB, id: HOST, port: 32768, availabilityZone: 'all', containerId: c1.id, containerName: c1.name, taskArn: c1.labels[ECS_TASK_ARN_LABEL] },
    ]);
    // The first read falls mid-window (dice 0.5 of 2,000,000 ms); the pass asks to run again then.
    expect(result).toMatchObject({ registered: 1, deregistered: 0, failed: 0, settled: true, ownedTargets: 1, nextPassInMs: 1_000_000, driftRepairIntervalMs: 2_000_000 });
  });

  it('reads a group when its first read is due, and only then', async () => {
    const w = world({ fleetSize: BIG_FLEET });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    w.advance(999_999);
    let mark = w.mark();
    await agent.pass('periodic');
    expect(w.since(mark)).toEqual([]);
    w.advance(1);
    mark = w.mark();
    const result = await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('DescribeTargetHealth', WEB, [])]);
    // The next read is one drift-repair interval away (dice 0.5: no jitter).
    expect(result.nextPassInMs).toBe(2_000_000);
  });

  it('reads before writing when the first read falls at once (dice 0)', async () => {
    const w = world({ fleetSize: BIG_FLEET, random: () => 0 });
    w.host.start(container('c1', 32768, [WEB]));
    await w.start().pass('startup');
    expect(w.elb.calls).toEqual([call('DescribeTargetHealth', WEB, []), call('RegisterTargets', WEB, [`${HOST}:32768`])]);
  });

  it('a container start costs exactly one RegisterTargets per affected group and no DescribeTargetHealth', async () => {
    const w = world();
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    const mark = w.mark();
    w.host.start(container('c2', 32769, [WEB, API]));
    const result = await agent.pass('event:start');
    expect(byGroup(w.since(mark))).toEqual([call('RegisterTargets', API, [`${HOST}:32769`]), call('RegisterTargets', WEB, [`${HOST}:32769`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
    expect(w.elb.holds(API)).toEqual([`${HOST}:32769`]);
    expect(w.recorded()).toEqual([`api ${HOST}:32769`, `web ${HOST}:32768`, `web ${HOST}:32769`]);
    expect(result).toMatchObject({ registered: 2, settled: true });
  });

  it('a stop (kill: stopping) costs exactly one DeregisterTargets per affected group, and the exit that follows none', async () => {
    const w = world();
    const c1 = container('c1', 32768, [WEB]);
    const c2 = container('c2', 32769, [WEB, API]);
    w.host.start(c1, c2);
    const agent = w.start();
    await agent.pass('startup');
    let mark = w.mark();
    w.host.stopping(c2);
    const result = await agent.pass('event:kill');
    expect(byGroup(w.since(mark))).toEqual([call('DeregisterTargets', API, [`${HOST}:32769`]), call('DeregisterTargets', WEB, [`${HOST}:32769`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.elb.holds(API)).toEqual([]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
    expect(result).toMatchObject({ deregistered: 2, settled: true });
    mark = w.mark();
    w.host.start({ ...c2, running: false, stopping: true });
    await agent.pass('event:die');
    expect(w.since(mark)).toEqual([]);
  });

  it('3 containers changed between passes travel in one call per group', async () => {
    const w = world();
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    let mark = w.mark();
    const three = [container('c2', 32769, [WEB, API]), container('c3', 32770, [WEB, API]), container('c4', 32771, [WEB, API])];
    w.host.start(...three);
    await agent.pass('event:start');
    const ports = ['32769', '32770', '32771'].map((p) => `${HOST}:${p}`);
    expect(byGroup(w.since(mark))).toEqual([call('RegisterTargets', API, ports), call('RegisterTargets', WEB, ports)]);
    mark = w.mark();
    w.host.stopping(...three);
    await agent.pass('event:kill');
    expect(byGroup(w.since(mark))).toEqual([call('DeregisterTargets', API, ports), call('DeregisterTargets', WEB, ports)]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.elb.holds(API)).toEqual([]);
  });

  it('a restart (a new Reconciler, the same state) with nothing changed makes no call', async () => {
    const w = world();
    w.host.start(container('c1', 32768, [WEB]), container('c2', 32769, [WEB, API]));
    await w.start().pass('startup');
    const before = structuredClone(w.store.saved);
    const mark = w.mark();
    const result = await w.start().pass('startup');
    expect(w.since(mark)).toEqual([]);
    expect(result).toMatchObject({ registered: 0, deregistered: 0, failed: 0, settled: true, ownedTargets: 3 });
    expect(w.store.saved).toEqual(before);
  });

  it('records the targets (and the address) before RegisterTargets goes out', async () => {
    const w = world();
    const seen: { action: string; recorded: string[]; addresses: readonly string[] }[] = [];
    w.elb.beforeChange = (action) => seen.push({ action, recorded: w.recorded(), addresses: w.store.saved.addresses });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    w.host.start(container('c2', 32769, [WEB, API]));
    await agent.pass('event:start');
    expect(seen).toEqual([
      { action: 'RegisterTargets', recorded: [`web ${HOST}:32768`], addresses: [HOST] },
      // Each group's records are there before its call (registrations go one group after another).
      { action: 'RegisterTargets', recorded: [`api ${HOST}:32769`, `web ${HOST}:32768`], addresses: [HOST] },
      { action: 'RegisterTargets', recorded: [`api ${HOST}:32769`, `web ${HOST}:32768`, `web ${HOST}:32769`], addresses: [HOST] },
    ]);
  });
});

describe('Reconciler: drift repair and ownership', () => {
  it('a target removed behind its back comes back after the next due read, and not before', async () => {
    const w = world({ fleetSize: BIG_FLEET });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    w.elb.remove(WEB, `${HOST}:32768`);
    // Passes before the read is due (the periodic one, an event's) trust the view.
    w.advance(500_000);
    let mark = w.mark();
    await agent.pass('periodic');
    w.host.start(container('c2', 32769, [WEB]));
    await agent.pass('event:start');
    expect(w.since(mark)).toEqual([call('RegisterTargets', WEB, [`${HOST}:32769`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32769`]);
    // The read is due at 1,000,000 ms: it sees the gap and the same pass closes it.
    w.advance(500_000);
    mark = w.mark();
    await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('DescribeTargetHealth', WEB, []), call('RegisterTargets', WEB, [`${HOST}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
    // And again one drift-repair interval later.
    w.elb.remove(WEB, `${HOST}:32769`);
    w.advance(1_999_999);
    mark = w.mark();
    await agent.pass('periodic');
    expect(w.since(mark)).toEqual([]);
    w.advance(1);
    await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('DescribeTargetHealth', WEB, []), call('RegisterTargets', WEB, [`${HOST}:32769`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
  });

  it('never deregisters another host\'s target (another address, not recorded), even after reads', async () => {
    const w = world({ random: () => 0 });
    w.elb.put(WEB, `${OTHER_HOST}:32768`, `${OTHER_HOST}:40000`);
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    const first = await agent.pass('startup');
    w.advance(first.driftRepairIntervalMs as number);
    await agent.pass('periodic');
    expect(w.elb.callsOf('DeregisterTargets')).toEqual([]);
    expect(w.elb.callsOf('DescribeTargetHealth')).toHaveLength(2);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${OTHER_HOST}:32768`, `${OTHER_HOST}:40000`]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
  });

  it('deregisters targets on its current address it has no record of, once a read shows them, when not desired', async () => {
    const w = world({ fleetSize: BIG_FLEET });
    // Left from before the state was lost: on this host's address, but not recorded.
    w.elb.put(WEB, `${HOST}:40000`);
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    expect(w.elb.calls).toEqual([call('RegisterTargets', WEB, [`${HOST}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:40000`]);
    w.advance(1_000_000);
    const mark = w.mark();
    await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('DescribeTargetHealth', WEB, []), call('DeregisterTargets', WEB, [`${HOST}:40000`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
  });
});

describe('Reconciler: address change (make-before-break)', () => {
  it('registers on the new address, then deregisters the old targets, at once while nothing is throttled', async () => {
    const w = world({ address: OLD });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    expect(w.elb.holds(WEB)).toEqual([`${OLD}:32768`]);
    w.address.address = HOST;
    const mark = w.mark();
    const result = await agent.pass('address-change');
    expect(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth')).toEqual([call('RegisterTargets', WEB, [`${HOST}:32768`]), call('DeregisterTargets', WEB, [`${OLD}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.store.saved.addresses).toEqual([HOST]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
    expect(result).toMatchObject({ registered: 1, deregistered: 1, settled: true, address: HOST });
  });

  it('under pressure (its change pace throttled and not recovered) a move waits for this host\'s moment in the fleet\'s window', async () => {
    const w = world({ address: OLD });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    // A throttled call: the pace halves and holds the class; once the hold is over, calls go again at the lower rate.
    w.elb.fail('throttled', { action: 'RegisterTargets', times: 1 });
    w.host.start(container('c2', 32769, [WEB]));
    await agent.pass('event:start');
    w.advance(agent.pace.delayMs('change'));
    await agent.pass('retry');
    expect(w.elb.holds(WEB)).toEqual([`${OLD}:32768`, `${OLD}:32769`]);
    expect(agent.pace.rates().change).toBeLessThan(DEFAULT_ELB_API_LIMITS.change.perSecond);
    w.address.address = HOST;
    const mark = w.mark();
    // A move now is likely fleet-wide: it waits for this host's moment in the fleet's window (dice 0.5: the middle).
    const moveAt = w.now() + fleetChangeWindowMs(BIG_FLEET, 2, DEFAULT_ELB_API_LIMITS) / 2;
    let result = await agent.pass('address-change');
    while (w.now() < moveAt) {
      // Passes in between (the first drift-repair read among them) leave the move alone.
      expect(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth')).toEqual([]);
      expect(result.nextPassInMs).toBeLessThanOrEqual(moveAt - w.now());
      w.advance(result.nextPassInMs as number);
      result = await agent.pass('scheduled');
    }
    expect(w.now()).toBe(moveAt);
    expect(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth')).toEqual([
      call('RegisterTargets', WEB, [`${HOST}:32768`, `${HOST}:32769`]), call('DeregisterTargets', WEB, [`${OLD}:32768`, `${OLD}:32769`]),
    ]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
  });

  it('holds the old target back while the new registration fails, and lets it go once the new one is in', async () => {
    const w = world({ address: OLD });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    w.address.address = HOST;
    w.elb.fail('transient', { action: 'RegisterTargets' });
    let mark = w.mark();
    const failed = await agent.pass('address-change');
    expect(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth')).toEqual([call('RegisterTargets', WEB, [`${HOST}:32768`], 'ServiceUnavailable')]);
    expect(w.elb.holds(WEB)).toEqual([`${OLD}:32768`]);
    // Still this host's: the old address and its target stay recorded for the cleanup.
    expect(w.store.saved.addresses).toEqual([OLD, HOST]);
    expect(w.recorded()).toContain(`web ${OLD}:32768`);
    expect(failed).toMatchObject({ registered: 0, deregistered: 0, failed: 1, settled: false });
    // The group's backoff (500 ms with dice 0.5) is when the pass asks to run again.
    expect(failed.nextPassInMs).toBe(500);
    w.advance(failed.nextPassInMs as number);
    mark = w.mark();
    const retried = await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('RegisterTargets', WEB, [`${HOST}:32768`]), call('DeregisterTargets', WEB, [`${OLD}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.store.saved.addresses).toEqual([HOST]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
    expect(retried).toMatchObject({ registered: 1, deregistered: 1, failed: 0, settled: true });
  });

  it('after losing the address registers nothing and keeps the targets of serving containers', async () => {
    const w = world();
    const c1 = container('c1', 32768, [WEB]);
    w.host.start(c1, container('c2', 32769, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    w.address.address = undefined;
    const mark = w.mark();
    w.host.stopping(container('c2', 32769, [WEB]));
    const result = await agent.pass('address');
    expect(w.since(mark)).toEqual([call('DeregisterTargets', WEB, [`${HOST}:32769`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(result.address).toBeUndefined();
  });
});

describe('Reconciler: throttling', () => {
  it('after a throttled change sends nothing more of that class until the pace allows it, then the pending changes of each group in one call', async () => {
    const w = world({ fleetSize: BIG_FLEET });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');

    w.elb.fail('throttled', { action: 'RegisterTargets' });
    w.host.start(container('c2', 32769, [WEB]));
    const throttledAt = w.mark();
    const throttled = await agent.pass('event:start');
    expect(w.since(throttledAt)).toEqual([call('RegisterTargets', WEB, [`${HOST}:32769`], 'Throttling')]);
    expect(throttled).toMatchObject({ failed: 1, settled: false });
    expect(throttled.nextPassInMs).toBeGreaterThan(0);
    // The pace holds the change class for one share interval (10,000 hosts at 4/s: 2,500 s).
    expect(agent.pace.delayMs('change')).toBe(2_500_000);

    // More changes arrive, in this group and another one, while the class is held.
    w.host.start(container('c3', 32770, [WEB]), container('c4', 32771, [API]));
    const changesBefore = w.elb.changeCalls().length;
    const deferredPasses: PassResult[] = [];
    let next = throttled.nextPassInMs as number;
    for (let i = 0; i < 50 && agent.pace.delayMs('change') > 0; i++) {
      w.advance(Math.min(next, agent.pace.delayMs('change')));
      if (agent.pace.delayMs('change') === 0) break;
      const r = await agent.pass('retry');
      deferredPasses.push(r);
      expect(w.elb.changeCalls().length).toBe(changesBefore);
      expect(r.settled).toBe(false);
      expect(r.deferred).toBe(2);
      // It asks for a later pass, no later than when the pace allows the deferred changes.
      expect(r.nextPassInMs).toBeGreaterThan(0);
      expect(r.nextPassInMs).toBeLessThanOrEqual(agent.pace.delayMs('change'));
      next = r.nextPassInMs as number;
    }
    expect(deferredPasses.length).toBeGreaterThan(0);
    expect(agent.pace.delayMs('change')).toBe(0);
    expect(w.now() - T0).toBe(2_500_000);

    const mark = w.mark();
    const released = await agent.pass('retry');
    expect(byGroup(w.since(mark).filter((c) => c.action !== 'DescribeTargetHealth'))).toEqual([
      call('RegisterTargets', API, [`${HOST}:32771`]),
      call('RegisterTargets', WEB, [`${HOST}:32769`, `${HOST}:32770`]),
    ]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`, `${HOST}:32770`]);
    expect(w.elb.holds(API)).toEqual([`${HOST}:32771`]);
    expect(w.recorded()).toEqual([`api ${HOST}:32771`, `web ${HOST}:32768`, `web ${HOST}:32769`, `web ${HOST}:32770`]);
    expect(released).toMatchObject({ registered: 3, failed: 0, settled: true });
    expect(released.deferred).toBeUndefined();
  });

  it('reads are a class of their own: a held change class does not stop a due read', async () => {
    const w = world({ fleetSize: BIG_FLEET });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    w.elb.fail('throttled', { action: 'RegisterTargets' });
    w.host.start(container('c2', 32769, [WEB]));
    await agent.pass('event:start');
    w.advance(1_000_000);
    const mark = w.mark();
    await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('DescribeTargetHealth', WEB, [])]);
  });
});

describe('Reconciler: one bad target, outages', () => {
  it('a call refused for one invalid target is split so the others still get in', async () => {
    const w = world();
    w.elb.invalid.add(`${HOST}:32769`);
    w.host.start(container('c1', 32768, [WEB]), container('c2', 32769, [WEB]), container('c3', 32770, [WEB]));
    const result = await w.start().pass('startup');
    expect(w.elb.calls).toEqual([
      call('RegisterTargets', WEB, [`${HOST}:32768`, `${HOST}:32769`, `${HOST}:32770`], 'InvalidTarget'),
      call('RegisterTargets', WEB, [`${HOST}:32768`]),
      call('RegisterTargets', WEB, [`${HOST}:32769`], 'InvalidTarget'),
      call('RegisterTargets', WEB, [`${HOST}:32770`]),
    ]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32770`]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`, `web ${HOST}:32770`]);
    expect(result).toMatchObject({ registered: 2, failed: 1, settled: false });
  });

  it('a group that cannot be changed for a permanent reason leaves the other groups alone', async () => {
    const w = world();
    w.elb.fail('permanent', { action: 'RegisterTargets', group: API });
    w.host.start(container('c1', 32768, [WEB, API]));
    const result = await w.start().pass('startup');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.elb.holds(API)).toEqual([]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
    expect(result).toMatchObject({ registered: 1, failed: 1, settled: false });
  });

  it('a failed read puts the group into backoff: its changes wait, then the read and the changes go together', async () => {
    const w = world({ random: () => 0 });
    w.elb.fail('transient', { action: 'DescribeTargetHealth' });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    const first = await agent.pass('startup');
    expect(w.elb.calls).toEqual([call('DescribeTargetHealth', WEB, [], 'ServiceUnavailable')]);
    expect(w.elb.holds(WEB)).toEqual([]);
    expect(first).toMatchObject({ registered: 0, deferred: 1, settled: false });
    // Nothing goes before the group's backoff ends (dice 0: half the 1 s base).
    w.advance(499);
    let mark = w.mark();
    await agent.pass('retry');
    expect(w.since(mark)).toEqual([]);
    w.advance(1);
    mark = w.mark();
    const second = await agent.pass('retry');
    expect(w.since(mark)).toEqual([call('DescribeTargetHealth', WEB, []), call('RegisterTargets', WEB, [`${HOST}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(second).toMatchObject({ registered: 1, settled: true });
  });
});

describe('Reconciler: dry run', () => {
  it('makes no change call and writes nothing to the real state, but reads and reports what it would do', async () => {
    const recorded: OwnedTarget = { targetGroupArn: WEB, id: HOST, port: 31000, containerId: 'gone' };
    const state: AgentState = { version: STATE_VERSION, addresses: [HOST], targets: [recorded] };
    const w = world({ random: () => 0, state });
    w.elb.put(WEB, `${HOST}:31000`);
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start({ dryRun: true });
    const result = await agent.pass('startup');
    expect(w.elb.calls).toEqual([call('DescribeTargetHealth', WEB, [])]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:31000`]);
    expect(w.store.saves).toBe(0);
    expect(w.store.saved).toEqual(state);
    expect(result).toMatchObject({ registered: 1, deregistered: 1, failed: 0, settled: true });
    // What a real run would have recorded is kept in memory: the next pass would do nothing more.
    expect((await agent.reconciler.currentState()).targets.map((t) => `${t.id}:${t.port}`)).toEqual([`${HOST}:32768`]);
    const again = await agent.pass('periodic');
    expect(again).toMatchObject({ registered: 0, deregistered: 0 });
    expect(w.elb.changeCalls()).toEqual([]);
    expect(w.store.saves).toBe(0);
  });
});

describe('Reconciler: deregisterAll', () => {
  it('deregisters the targets this host owns (current address, recorded earlier ones) and nothing else', async () => {
    const state: AgentState = {
      version: STATE_VERSION,
      addresses: [OLD, HOST],
      targets: [
        { targetGroupArn: WEB, id: HOST, port: 32768, containerId: 'c1' },
        { targetGroupArn: WEB, id: OLD, port: 31000, containerId: 'c0' },
        { targetGroupArn: API, id: HOST, port: 32768, containerId: 'c1' },
      ],
    };
    const w = world({ state });
    w.elb.put(WEB, `${HOST}:32768`, `${HOST}:40000`, `${OLD}:31000`, `${OLD}:31001`, `${OTHER_HOST}:32768`);
    w.elb.put(API, `${HOST}:32768`, `${OTHER_HOST}:32768`);
    const out = await w.start().reconciler.deregisterAll('agent-exit');
    expect(byGroup(w.elb.calls)).toEqual([
      call('DeregisterTargets', API, [`${HOST}:32768`]),
      call('DescribeTargetHealth', API, []),
      call('DeregisterTargets', WEB, [`${HOST}:32768`, `${HOST}:40000`, `${OLD}:31000`]),
      call('DescribeTargetHealth', WEB, []),
    ]);
    // 10.8.0.6:31001 was never recorded: since this host left 10.8.0.6, that is another host's.
    expect(w.elb.holds(WEB)).toEqual([`${OTHER_HOST}:32768`, `${OLD}:31001`]);
    expect(w.elb.holds(API)).toEqual([`${OTHER_HOST}:32768`]);
    expect(w.store.saved.targets).toEqual([]);
    expect(out.failed).toBe(0);
    expect(out.deregistered.map((t) => `${t.targetGroupArn === WEB ? 'web' : 'api'} ${t.id}:${t.port}`).sort()).toEqual([
      `api ${HOST}:32768`, `web ${HOST}:32768`, `web ${HOST}:40000`, `web ${OLD}:31000`,
    ]);
  });

  it('after passes, deregisters what this host registered without reading the groups again if it had read them', async () => {
    const w = world({ random: () => 0 });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    const mark = w.mark();
    const out = await agent.reconciler.deregisterAll('agent-exit');
    expect(w.since(mark)).toEqual([call('DeregisterTargets', WEB, [`${HOST}:32768`])]);
    expect(w.elb.holds(WEB)).toEqual([]);
    expect(out).toMatchObject({ failed: 0 });
    expect(w.store.saved.targets).toEqual([]);
  });

  it('counts a group it could not read as a failure and keeps its records', async () => {
    const state: AgentState = { version: STATE_VERSION, addresses: [HOST], targets: [{ targetGroupArn: WEB, id: HOST, port: 32768 }] };
    const w = world({ state });
    w.elb.put(WEB, `${HOST}:32768`);
    w.elb.fail('permanent', { action: 'DescribeTargetHealth' });
    const out = await w.start().reconciler.deregisterAll('manual-deregister');
    expect(out).toEqual({ deregistered: [], failed: 1 });
    expect(w.elb.changeCalls()).toEqual([]);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    expect(w.recorded()).toEqual([`web ${HOST}:32768`]);
  });
});

describe('Reconciler: lost answers, refused targets, failed reads', () => {
  it.each([['transient', 500], ['permanent', 60_000]] as const)('a %s read failure: the pass asks to run again when the group backoff ends (%d ms), not at once', async (kind, backoffMs) => {
    const w = world({ random: () => 0 });
    w.elb.fail(kind, { action: 'DescribeTargetHealth' });
    w.host.start(container('c1', 32768, [WEB]));
    const result = await w.start().pass('startup');
    expect(result.nextPassInMs).toBe(backoffMs);
  });

  it('a registration applied by ELBv2 whose answer was lost stays recorded, so it is cleaned up after the address changes', async () => {
    const w = world({ address: OLD, random: () => 0 });
    const register = w.elb.register.bind(w.elb);
    let lose = true;
    w.elb.register = async (arn, targets) => {
      await register(arn, targets);
      if (lose) {
        lose = false;
        throw new OperationError('RegisterTargets', arn, 'RequestTimeout', 'transient', 'answer lost');
      }
    };
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    expect(w.recorded()).toEqual([`web ${OLD}:32768`]);
    w.address.address = HOST;
    w.advance(1_000);
    await agent.pass('address');
    w.advance(10_000_000); // past the next drift-repair read
    await agent.pass('periodic');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
  });

  it('a target the API refuses (InvalidTarget) is not sent again before the next periodic run; the others are', async () => {
    const w = world();
    w.elb.invalid.add(`${HOST}:32769`);
    w.host.start(container('c1', 32768, [WEB]), container('c2', 32769, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    const m = w.mark();
    for (let i = 0; i < 5; i++) {
      w.advance(1000);
      await agent.pass('event:health_status');
    }
    expect(w.since(m)).toEqual([]);
    w.advance(MIN_READ_INTERVAL_MS);
    const later = w.mark();
    await agent.pass('periodic');
    expect(w.since(later).filter((c) => c.action === 'RegisterTargets')).toEqual([call('RegisterTargets', WEB, [`${HOST}:32769`], 'InvalidTarget')]);
  });
});

describe('Reconciler: gated containers wait for their moment in the fleet window', () => {
  const gated = (id: string, port: number) => {
    const c = container(id, port, [WEB], { health: 'starting' });
    return { ...c, labels: { ...c.labels, 'ecs-anywhere-lb.readiness-gate': 'true' } };
  };

  it('a gated container is registered at this host\'s moment in the window, an ungated one at once, and its stop is never held', async () => {
    const w = world({ fleetSize: 100 });
    const agent = w.start();
    await agent.pass('startup');
    w.host.start(gated('g1', 32768), container('u1', 32769, [WEB]));
    const mark = w.mark();
    const first = await agent.pass('event:start');
    const changes = (from: number) => w.since(from).filter((c) => c.action === 'RegisterTargets' || c.action === 'DeregisterTargets');
    expect(changes(mark)).toEqual([call('RegisterTargets', WEB, [`${HOST}:32769`])]);
    // 100 hosts x one group x (register + deregister) at 80% of 4/s: 62.5 s; dice 0.5: the middle.
    const at = fleetChangeWindowMs(100, 2, DEFAULT_ELB_API_LIMITS) / 2;
    expect(first.nextPassInMs).toBeLessThanOrEqual(at);
    let waited = 0;
    let result = first;
    while (waited < at) {
      const step = result.nextPassInMs as number;
      w.advance(step);
      waited += step;
      result = await agent.pass('scheduled');
    }
    expect(waited).toBe(at);
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`, `${HOST}:32769`]);
    // Stopping is never spread: the gated container's deregistration goes at once.
    w.host.stopping(gated('g1', 32768));
    const stopMark = w.mark();
    await agent.pass('event:kill');
    expect(changes(stopMark)).toEqual([call('DeregisterTargets', WEB, [`${HOST}:32768`])]);
  });
});

describe('Reconciler: the readiness gate', () => {
  const gatedAt = (id: string, port: number, ip: string) => {
    const c = container(id, port, [WEB], { health: 'starting', ipAddresses: [ip] });
    return { ...c, labels: { ...c.labels, 'ecs-anywhere-lb.readiness-gate': 'true' } };
  };

  it('answers 503 until a read at interval x healthy threshold shows the target healthy, then 200, latched through an outage and an address loss, until the container stops', async () => {
    const w = world({ fleetSize: 1, random: () => 0 });
    w.elb.healthCheck = { intervalSeconds: 5, healthyThreshold: 2 };
    const agent = w.start();
    await agent.pass('startup');
    const g = gatedAt('g1', 32768, '172.17.0.2');
    w.host.start(g);
    let result = await agent.pass('event:start');
    expect(w.elb.holds(WEB)).toEqual([`${HOST}:32768`]);
    const ask = () => agent.reconciler.readiness({ sourceAddress: '172.17.0.2' });
    expect(ask()).toMatchObject({ ready: false, reason: `tg/web ${HOST}:32768 is initial` });
    expect(agent.reconciler.readiness({ sourceAddress: '172.17.0.99' })).toMatchObject({ ready: false, reason: expect.stringMatching(/^unknown caller/) });
    // The load balancer's checks pass; the agent reads the group when that can have happened: 2 x 5 s after the registration.
    w.elb.setState(WEB, `${HOST}:32768`, 'healthy');
    const reads = () => w.elb.callsOf('DescribeTargetHealth').length;
    const before = reads();
    let waited = 0;
    while (ask().ready === false && waited < 60_000) {
      const step = result.nextPassInMs as number;
      w.advance(step);
      waited += step;
      result = await agent.pass('scheduled');
    }
    expect(ask()).toMatchObject({ ready: true, reason: 'ready' });
    expect(waited).toBe(10_000);
    expect(reads() - before).toBe(1);
    // Latched: an unhealthy read (load balancer or VPN blip) and a lost address leave it open.
    w.elb.setState(WEB, `${HOST}:32768`, 'unhealthy');
    w.advance(60_000);
    await agent.pass('periodic');
    w.address.address = undefined;
    await agent.pass('address');
    expect(ask().ready).toBe(true);
    // Stopping closes it.
    w.host.stopping(g);
    await agent.pass('event:kill');
    expect(ask()).toMatchObject({ ready: false, reason: 'stopping' });
  });
});

describe('Reconciler: drain time', () => {
  it('measures a deregistered target\'s drain when a later read no longer shows it (an upper bound), once', async () => {
    const w = world({ fleetSize: 1, random: () => 0 });
    const c = container('c1', 32768, [WEB]);
    w.host.start(c);
    const agent = w.start();
    await agent.pass('startup');
    w.host.stopping(c);
    await agent.pass('event:kill');
    // The in-memory ELBv2 drains at once; the agent sees it at its next read, one interval (60 s) later.
    expect(w.drained).toEqual([]);
    w.advance(MIN_READ_INTERVAL_MS * 1.2);
    await agent.pass('periodic');
    expect(w.drained).toEqual([{ arn: WEB, ms: MIN_READ_INTERVAL_MS * 1.2 }]);
    w.advance(MIN_READ_INTERVAL_MS * 1.2);
    await agent.pass('periodic');
    expect(w.drained).toHaveLength(1);
  });
});

describe('Reconciler: a due read that waits for the pace', () => {
  it('asks for the next pass when the Describe pace allows the read, not at once (no 50 ms spin)', async () => {
    const w = world({ fleetSize: 100, random: () => 0.5 });
    w.host.start(container('c1', 32768, [WEB]));
    const agent = w.start();
    await agent.pass('startup');
    // Past the first-read window, with the Describe class held after a throttled read.
    w.advance(10 * MIN_READ_INTERVAL_MS);
    agent.pace.outcome('describe', 'throttled');
    const hold = agent.pace.delayMs('describe');
    expect(hold).toBeGreaterThan(1000);
    const result = await agent.pass('periodic');
    expect(w.elb.callsOf('DescribeTargetHealth')).toEqual([]);
    expect(result.nextPassInMs).toBe(hold);
  });
});
