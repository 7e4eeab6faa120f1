// A host for the reconciler's unit tests: its containers, address and state, an in-memory
// ELBv2, and agent processes started on it, wired as the agent wires them (agent/wiring.ts), with an
// injected clock and dice.
import type { AddressChoice, AddressSource } from '../../agent/core/address.ts';
import type { ContainerSnapshot, ContainerSource } from '../../agent/core/container.ts';
import { EMPTY_STATE, type AgentState, type StatePort } from '../../agent/core/state.ts';
import { DEFAULT_ELB_API_LIMITS } from '../../agent/fleet/api-budget.ts';
import type { Log } from '../../agent/log.ts';
import { DryRunRegistry, MemoryStatePort } from '../../agent/reconcile/dry-run.ts';
import { wireReconciler } from '../../agent/wiring.ts';
import { MemoryRegistry, type RecordedCall } from './memory-registry.ts';
import { taskContainer } from './task-container.ts';

export const WEB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
export const API = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
export const HOST = '10.8.0.10';
export const OLD = '10.8.0.6';
export const OTHER_HOST = '10.8.0.11';
export const T0 = 1_700_000_000_000;
export const MIN_READ_INTERVAL_MS = 60_000;
/** --fleet-size 10000, one group, default limits: the fleet read window is 2,000,000 ms. */
export const BIG_FLEET = 10_000;

/** An ECS task container publishing container port 80 on `hostPort`, asking to join `groups`. */
export function container(id: string, hostPort: number, groups: string[], over: Partial<ContainerSnapshot> = {}): ContainerSnapshot {
  return taskContainer(id, hostPort, groups.length === 1 ? { 'ecs-anywhere-lb.target-group-arn': groups[0] as string } : { 'ecs-anywhere-lb.targets': groups.join(',') }, over);
}

/** The containers on this host. */
export class MemoryHost implements ContainerSource {
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
export class FixedAddress implements AddressSource {
  constructor(public address: string | undefined) {}
  current(): Promise<AddressChoice> {
    return Promise.resolve(this.address !== undefined ? { address: this.address, interface: 'tun0' } : { problem: 'no address on tun0' });
  }
}

/** The state on "disk": what was last saved, and how many saves there were. */
export class MemoryStore implements StatePort {
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

export const quiet: Log = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => quiet };

export interface WorldOptions {
  fleetSize?: number;
  /** The dice of every part (first-read placement, read jitter, backoff, pace hold). */
  random?: () => number;
  state?: AgentState;
  address?: string;
}

/** One host: its containers, address and state, an in-memory ELBv2, and agent processes started on it. */
export function world(o: WorldOptions = {}) {
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
    // Wired as the agent wires it (agent/wiring.ts).
    const { reconciler, pace } = wireReconciler(
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

export const call = (action: RecordedCall['action'], group: string, targets: string[], error?: string): RecordedCall => ({ action, group, targets, ...(error ? { error } : {}) });
export const byGroup = (calls: RecordedCall[]) => [...calls].sort((a, b) => a.group.localeCompare(b.group) || a.action.localeCompare(b.action));
