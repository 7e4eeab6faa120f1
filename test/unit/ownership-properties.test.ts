// Property tests (fast-check, seeded) of ownership: the plan, the policies after it and the
// records never let this host deregister a target it does not own (on an address it does not
// hold and not recorded by it), and a whole agent, driven through random churn, address
// changes, crashes, damaged state files, a full disk, API failures and another host
// registering in the same groups, never touches that host's targets and never registers a
// target before it is recorded on disk.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AddressSource } from '../../agent/core/address.ts';
import type { ContainerSnapshot, ContainerSource } from '../../agent/core/container.ts';
import { EMPTY_STATE, type AgentState, type OwnedTarget, type StatePort, type StateRecovery } from '../../agent/core/state.ts';
import { targetKey } from '../../agent/core/target-registry.ts';
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';
import type { Log } from '../../agent/log.ts';
import { wireReconciler } from '../../agent/wiring.ts';
import { ownedAfter, provableRecords } from '../../agent/reconcile/owned-targets.ts';
import { plan, type PlanInput } from '../../agent/reconcile/plan.ts';
import { deregistrationsAfter, groupsInPlay, withoutHeld } from '../../agent/reconcile/policy.ts';
import { ADDRESSES, GROUPS, PORTS, actualTarget, desiredEndpoint, runs } from '../support/arbitraries.ts';
import { MemoryRegistry } from '../support/memory-registry.ts';
import { taskContainer } from '../support/task-container.ts';

/** A plan input: any group contents, endpoints, owned addresses and records, address. */
const planInput: fc.Arbitrary<PlanInput> = fc
  .record({
    endpoints: fc.array(desiredEndpoint, { maxLength: 6 }),
    actual: fc.array(fc.tuple(fc.constantFrom(...GROUPS), fc.array(actualTarget, { maxLength: 8 })), { maxLength: 2 }),
    owned: fc.subarray([...ADDRESSES], { maxLength: 1 }),
    recorded: fc.array(fc.tuple(fc.constantFrom(...GROUPS), fc.constantFrom(...ADDRESSES), fc.constantFrom(...PORTS)), { maxLength: 5 }),
    address: fc.option(fc.constantFrom(...ADDRESSES)),
    availabilityZone: fc.option(fc.constantFrom('all', 'us-east-1a')),
  })
  .map((r) => ({
    endpoints: r.endpoints,
    actual: new Map(r.actual),
    ownedAddresses: new Set(r.owned),
    ownedTargets: new Set(r.recorded.map(([g, id, port]) => targetKey(g, id, port))),
    ...(r.address !== null ? { address: r.address } : {}),
    ...(r.availabilityZone !== null ? { availabilityZone: r.availabilityZone } : {}),
  }));

/** Fewest cases a property must have checked (its generators are seeded: the counts are fixed). */
const MIN_CHECKED = 100;

/** Ownership, written out here rather than taken from the code under test. */
const ownedBy = (input: PlanInput, group: string, t: { id: string; port: number }) => input.ownedAddresses.has(t.id) || input.ownedTargets?.has(`${group}|${t.id}|${t.port}`) === true;

describe('plan and policies', () => {
  it('never deregisters a target this host does not own, nor one already draining, nor in a group not read', () => {
    let checked = 0;
    fc.assert(
      fc.property(planInput, fc.func(fc.boolean()), (input, registered) => {
        for (const p of plan(input)) {
          const actual = input.actual.get(p.targetGroupArn);
          expect(actual).toBeDefined();
          const after = [...p.deregister, ...deregistrationsAfter(p, (t) => registered(t.id, t.port)), ...withoutHeld(p, (t) => registered(t.port)).deregister];
          checked += after.length;
          for (const d of after) {
            expect(ownedBy(input, p.targetGroupArn, d.target)).toBe(true);
            expect(actual?.some((t) => t.id === d.target.id && t.port === d.target.port && t.state !== 'draining')).toBe(true);
          }
        }
      }),
      runs(2000),
    );
    // The inputs made deregistrations to check (a generator that made none would pass vacuously).
    expect(checked).toBeGreaterThanOrEqual(MIN_CHECKED);
  });

  it('registers only on the current address, only wanted ports, once each; nothing without an address', () => {
    let checked = 0;
    let withoutAddress = 0;
    fc.assert(
      fc.property(planInput, (input) => {
        if (input.address === undefined && input.endpoints.length > 0) withoutAddress += 1;
        for (const p of plan(input)) {
          checked += p.register.length;
          if (input.address === undefined) expect(p.register).toEqual([]);
          const keys = p.register.map((r) => `${r.target.id}|${r.target.port}`);
          expect(new Set(keys).size).toBe(keys.length);
          for (const r of p.register) {
            expect(r.target.id).toBe(input.address);
            expect(input.endpoints.some((e) => e.targetGroupArn === p.targetGroupArn && e.port === r.target.port)).toBe(true);
          }
          // Policies only ever leave changes out.
          const held = withoutHeld(p, () => true);
          expect(held.register).toEqual([]);
          expect(held.deregister.every((d) => p.deregister.includes(d))).toBe(true);
        }
      }),
      runs(2000),
    );
    expect(checked).toBeGreaterThanOrEqual(MIN_CHECKED);
    expect(withoutAddress).toBeGreaterThanOrEqual(MIN_CHECKED);
  });

  it('the records after a pass hold only targets on the current address or recorded before', () => {
    let records = 0;
    fc.assert(
      fc.property(planInput, (input) => {
        const previous: OwnedTarget[] = [...(input.ownedTargets ?? [])].map((k) => {
          const [targetGroupArn, id, port] = k.split('|') as [string, string, string];
          return { targetGroupArn, id, port: Number(port) };
        });
        const after = ownedAfter(previous, input.actual, new Map(), input.ownedAddresses, input.endpoints);
        records += after.length;
        for (const t of after) expect(ownedBy(input, t.targetGroupArn, t)).toBe(true);
        const groups = groupsInPlay(undefined, input.endpoints, after);
        expect(groups).toEqual([...new Set(groups)].sort());
        for (const t of provableRecords(previous, input.address)) expect(t.id).toBe(input.address);
      }),
      runs(1000),
    );
    expect(records).toBeGreaterThanOrEqual(MIN_CHECKED);
  });
});

// ---- A whole agent under random events ----

const HOST_A = '10.8.0.10';
const HOST_B = '10.8.0.6';
/** Another host in the same groups: this agent never holds its address. */
const OTHER = '10.8.0.99';

type Op =
  | { kind: 'start'; group: number; port: number }
  | { kind: 'stop'; port: number }
  | { kind: 'other-register'; group: number; port: number }
  | { kind: 'other-deregister'; group: number; port: number }
  | { kind: 'address'; to: string }
  | { kind: 'disk'; full: boolean }
  | { kind: 'api-fail'; group: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'crash' }
  | { kind: 'corrupt'; salvage: { group: number; id: string; port: number }[] };

const port = fc.constantFrom(...PORTS);
const group = fc.constantFrom(0, 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('start' as const), group, port }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('stop' as const), port }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('other-register' as const), group, port }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('other-deregister' as const), group, port }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('address' as const), to: fc.constantFrom(HOST_A, HOST_B) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('disk' as const), full: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('api-fail' as const), group }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 70_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const) }) },
  // A damaged file whose readable records may name anything, another host's targets too.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('corrupt' as const), salvage: fc.array(fc.record({ group, id: fc.constantFrom(HOST_A, HOST_B, OTHER), port }), { maxLength: 4 }) }) },
);

/** The disk: a state file that can fill up, and come back damaged after a crash. */
class Disk implements StatePort {
  readonly path = '/var/lib/ecs-anywhere-lb-agent/state.json';
  full = false;
  saved: AgentState = EMPTY_STATE;
  recovery?: StateRecovery;
  load(): Promise<AgentState> {
    return Promise.resolve(this.saved);
  }
  save(state: AgentState): Promise<void> {
    if (this.full) return Promise.reject(new Error('ENOSPC: no space left on device'));
    this.saved = structuredClone(state);
    return Promise.resolve();
  }
}

const quiet: Log = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => quiet };

const container = (g: number, p: number) => taskContainer(`c${g}${p}`, p, { 'ecs-anywhere-lb.target-group-arn': GROUPS[g]! });

async function runAgent(ops: readonly Op[]): Promise<void> {
  let now = 1_700_000_000_000;
  let address = HOST_A;
  const running = new Map<number, ContainerSnapshot>();
  const containers: ContainerSource = { list: () => Promise.resolve([...running.values()]) };
  const addresses: AddressSource = { current: () => Promise.resolve({ address }) };
  const elb = new MemoryRegistry();
  const disk = new Disk();
  const violations: string[] = [];
  elb.beforeChange = (action, arn, targets) => {
    for (const t of targets) {
      if (t.id === OTHER) violations.push(`${action} of the other host's ${t.id}:${t.port}`);
      if (action !== 'RegisterTargets') continue;
      if (!disk.saved.targets.some((r) => r.targetGroupArn === arn && r.id === t.id && r.port === t.port)) violations.push(`RegisterTargets ${t.id}:${t.port} before it was recorded`);
      if (!disk.saved.addresses.includes(t.id)) violations.push(`RegisterTargets on ${t.id} before the address was recorded`);
    }
  };
  const start = () =>
    wireReconciler(
      { fleetSize: 1, limits: DEFAULT_ELB_API_LIMITS, reconcileIntervalMs: 60_000, retryMaxDelayMs: 30_000, now: () => now, random: () => 0.5 },
      { registry: elb, containers, addresses, store: disk, log: quiet, rules: [], allowedTargetGroups: [...GROUPS], includeNonEcs: false, vpcCidrs: [], availabilityZone: 'all' },
    ).reconciler;
  let agent = start();
  const pass = async () => {
    const r = await agent.reconcile(['property']);
    return r;
  };
  for (const o of ops) {
    switch (o.kind) {
      case 'start':
        // One container per host port: a port is published once.
        running.set(o.port, container(o.group, o.port));
        break;
      case 'stop':
        running.delete(o.port);
        break;
      case 'other-register':
        elb.put(GROUPS[o.group]!, `${OTHER}:${o.port}`);
        break;
      case 'other-deregister':
        elb.remove(GROUPS[o.group]!, `${OTHER}:${o.port}`);
        break;
      case 'address':
        address = o.to;
        break;
      case 'disk':
        disk.full = o.full;
        break;
      case 'api-fail':
        elb.fail('transient', { group: GROUPS[o.group]!, times: 1 });
        break;
      case 'wait':
        now += o.ms;
        break;
      case 'crash':
        agent = start();
        break;
      case 'corrupt':
        disk.saved = EMPTY_STATE;
        disk.recovery = { problem: 'state is cut short', movedTo: `${disk.path}.corrupt-x`, salvaged: o.salvage.map((s) => ({ targetGroupArn: GROUPS[s.group]!, id: s.id, port: s.port })) };
        agent = start();
        break;
    }
    await pass();
    disk.recovery = undefined;
  }
  expect(violations).toEqual([]);
  // Quiet at the end, with space on the disk: every group converges to exactly the wanted targets on the current address.
  disk.full = false;
  for (let i = 0; i < 6; i++) {
    now += 61_000;
    await pass();
  }
  for (const [g, arn] of GROUPS.entries()) {
    const want = [...running.values()].filter((c) => c.labels['ecs-anywhere-lb.target-group-arn'] === GROUPS[g]).map((c) => `${address}:${c.ports[0]!.hostPort}`).sort();
    expect(elb.holds(arn).filter((t) => t.startsWith(`${address}:`))).toEqual(want);
  }
  expect(violations).toEqual([]);
}

describe('a whole agent under random events', () => {
  it('never touches another host\'s targets, never registers before recording, and converges once quiet', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => runAgent(ops)), runs(150));
  });
});
