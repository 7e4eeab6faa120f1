// The Reconciler's pass against an in-memory ELBv2: what the target groups hold, which calls were
// made (and which were not), and what the state records, after each pass (test/support/reconciler-world.ts).
import { describe, expect, it } from 'vitest';
import { STATE_VERSION, type AgentState, type OwnedTarget } from '../../agent/core/state.ts';
import { ECS_TASK_ARN_LABEL } from '../../agent/core/container.ts';
import { WEB, API, HOST, OLD, OTHER_HOST, BIG_FLEET, container, world, call, byGroup } from '../support/reconciler-world.ts';

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
