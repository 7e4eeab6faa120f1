/**
 * One simulated host: its containers, its address, its state file (kept in memory, so it
 * survives an agent restart) and, while the agent runs, the agent's real parts wired the way
 * agent/main.ts and agent/commands/run.ts wire them: ApiPace -> PacedRegistry -> Reconciler ->
 * ReconcileLoop (periodic pass, event and address-change triggers), on virtual time and a
 * seeded PRNG; the pace, paced registry and reconciler come from agent/wiring.ts,
 * the recipe main.ts uses. Only the ports are stand-ins: containers, address and state in memory, and the
 * registry talks to the ELB model.
 */
import type { AddressChoice, AddressSource } from '../../agent/core/address.ts';
import { ECS_CONTAINER_NAME_LABEL, ECS_FAMILY_LABEL, ECS_TASK_ARN_LABEL, type ContainerSnapshot, type ContainerSource } from '../../agent/core/container.ts';
import { EMPTY_STATE, type AgentState, type StatePort } from '../../agent/core/state.ts';
import type { ApiLimits } from '../../agent/fleet/api-budget.ts';
import { ApiPace, type PaceOptions } from '../../agent/fleet/api-pace.ts';
import { PacedRegistry } from '../../agent/fleet/paced-registry.ts';
import type { TargetRegistry } from '../../agent/core/target-registry.ts';
import { wireReconciler, type ReconcilerParts, type ReconcilerSettings } from '../../agent/wiring.ts';
import type { Log } from '../../agent/log.ts';
import { READINESS_GATE_LABEL, TARGET_GROUP_ARN_LABEL } from '../../agent/mapping/labels.ts';
import { ReconcileLoop } from '../../agent/reconcile/loop.ts';
import { Reconciler, type PassResult } from '../../agent/reconcile/reconciler.ts';
import type { Caller, ElbModel } from './elb-model.ts';
import { uniform } from './random.ts';
import type { VirtualTime } from './virtual-time.ts';
import { DEFAULT_RETRY } from '../../agent/core/backoff.ts';

/** A task container as Docker holds it (ground truth, not what an agent believes). */
export interface SimContainer {
  readonly id: string;
  readonly groupIndex: number;
  readonly hostPort: number;
  /** What `docker ps` / the agent's listing shows (stopping is the agent's own mark). */
  readonly snapshot: ContainerSnapshot;
  /** A stop signal was sent (ECS stopped the task). */
  killed: boolean;
  /** The process is still running (listed). */
  running: boolean;
  /** Its address on the host's Docker bridge (how the readiness gate knows the caller). */
  readonly bridgeAddress: string;
}

/** Makes the pace a host's agent uses (the agent's ApiPace, or a policy prototype). */
export type PaceFactory = (o: PaceOptions) => ApiPace;
/** Wraps the paced registry the reconciler gets (policy prototypes only). */
export type RegistryWrapper = (paced: TargetRegistry) => TargetRegistry;

export interface HostOptions {
  readonly index: number;
  readonly clock: VirtualTime;
  readonly model: ElbModel;
  readonly random: () => number;
  readonly groups: readonly string[];
  /** --fleet-size as this host's agent is configured. */
  readonly fleetSize: number;
  /** --elb-api-limits as the agent is configured. */
  readonly limits: ApiLimits;
  readonly reconcileIntervalMs: number;
  readonly addressCheckIntervalMs: number;
  readonly retryMaxDelayMs: number;
  /** A prototype's pace; undefined: the agent's own, built by agent/wiring.ts as main.ts builds it. */
  readonly pace?: PaceFactory;
  readonly wrapRegistry?: RegistryWrapper;
  /** Containers are this host's own, or one list shared by every host (one Docker engine). */
  readonly containers: SimContainer[];
}

/** A log that drops everything (the agent's messages are built anyway, as in production). */
export const SILENT_LOG: Log = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  child: () => SILENT_LOG,
};

interface AgentInstance {
  readonly reconciler: Reconciler;
  readonly loop: ReconcileLoop;
  readonly pace: ApiPace;
  /** Containers this process saw a stop signal for (DockerContainerSource's marks: lost on restart). */
  readonly stopping: Set<string>;
  stopped: boolean;
}

export class SimHost implements Caller {
  readonly index: number;
  readonly addressesEver = new Set<string>();
  address: string | undefined;
  /** The address targets are kept on while there is none (the agent leaves them in place). */
  lastAddress: string | undefined;
  state: AgentState = EMPTY_STATE;
  passes = 0;
  failedPasses = 0;
  driftRepairIntervalMs: number | undefined;
  /** How often this host's agent was (re)started. */
  starts = 0;
  /** Asks this host's readiness gate about one of its containers, as the container's health check does (false while the agent is down). */
  readiness(c: SimContainer): boolean {
    const agent = this.agent;
    if (!agent || agent.stopped) return false;
    return agent.reconciler.readiness({ sourceAddress: c.bridgeAddress }).ready;
  }

  /** The change-class pace (calls/s) when the agent last stopped. */
  lastChangeRate: number | undefined;
  private agent: AgentInstance | undefined;

  constructor(private readonly o: HostOptions) {
    this.index = o.index;
  }

  get containers(): SimContainer[] {
    return this.o.containers;
  }

  get running(): boolean {
    return this.agent !== undefined && !this.agent.stopped;
  }

  /** The current pace of the agent's change and describe classes (calls/s), if it runs. */
  paceRates(): Record<'change' | 'describe', number> | undefined {
    return this.agent?.pace.rates();
  }

  setAddress(address: string | undefined): void {
    if (address === this.address) return;
    if (this.address !== undefined) this.lastAddress = this.address;
    this.address = address;
    if (address !== undefined) {
      this.addressesEver.add(address);
      this.lastAddress = address;
    }
    // The agent polls its address every --address-check-interval and triggers a pass on a change.
    const agent = this.agent;
    if (agent) this.o.clock.set(() => agent.loop.trigger('address-change'), uniform(this.o.random, 0, this.o.addressCheckIntervalMs));
  }

  /** A Docker event reaches this host's agent (if it runs): marks as run.ts keeps them, then a pass. */
  dockerEvent(action: 'start' | 'kill' | 'die' | 'stop' | 'destroy', containerId: string): void {
    const agent = this.agent;
    if (!agent || agent.stopped) return;
    if (action === 'kill') agent.stopping.add(containerId);
    else if (action === 'start') agent.stopping.delete(containerId);
    else if (action === 'destroy') agent.stopping.delete(containerId);
    agent.loop.trigger(`event:${action}`);
  }

  /** Starts the agent process: state loaded from the (kept) state file, a startup pass, the periodic pass. */
  async startAgent(): Promise<void> {
    const o = this.o;
    const stopping = new Set<string>();
    const containers: ContainerSource = {
      list: () => Promise.resolve(o.containers.filter((c) => c.running).map((c) => (stopping.has(c.id) ? { ...c.snapshot, stopping: true } : c.snapshot))),
    };
    const addresses: AddressSource = {
      current: (): Promise<AddressChoice> => Promise.resolve(this.address !== undefined ? { address: this.address, interface: 'tun0' } : { problem: 'tun0 has no IPv4 address' }),
    };
    const store: StatePort = {
      path: `memory:host-${this.index}`,
      load: () => Promise.resolve(this.state),
      save: (state) => {
        this.state = state;
        return Promise.resolve();
      },
    };
    const settings: ReconcilerSettings = { fleetSize: o.fleetSize, limits: o.limits, reconcileIntervalMs: o.reconcileIntervalMs, retryMaxDelayMs: o.retryMaxDelayMs, now: o.clock.now, random: o.random };
    const parts: ReconcilerParts = {
      registry: o.model.registryFor(this),
      containers,
      addresses,
      store,
      log: SILENT_LOG,
      rules: [],
      allowedTargetGroups: o.groups,
      includeNonEcs: false,
      vpcCidrs: [],
      availabilityZone: 'all',
    };
    // The agent as main.ts builds it, or a prototype wired the same way with its own pace and registry wrapper.
    const { reconciler, pace } = o.pace || o.wrapRegistry ? prototypeMember(settings, parts, o.pace, o.wrapRegistry) : wireReconciler(settings, parts);
    // As in agent/commands/run.ts.
    const loop = new ReconcileLoop({
      pass: (reasons) => reconciler.reconcile(reasons),
      log: SILENT_LOG,
      intervalMs: o.reconcileIntervalMs,
      retry: { baseMs: DEFAULT_RETRY.baseMs, capMs: o.retryMaxDelayMs },
      random: o.random,
      timers: o.clock,
      onPass: (result: PassResult | undefined) => {
        this.passes++;
        if (!result) {
          this.failedPasses++;
          return;
        }
        if (result.driftRepairIntervalMs !== undefined) this.driftRepairIntervalMs = result.driftRepairIntervalMs;
      },
    });
    const agent: AgentInstance = { reconciler, loop, pace, stopping, stopped: false };
    this.agent = agent;
    this.starts++;
    await reconciler.currentState();
    if (agent.stopped) return;
    loop.trigger('startup');
    loop.startPeriodic();
  }

  /** SIGTERM with --on-exit keep (an agent restart on a host that keeps running): the pass in flight finishes, targets stay. */
  async stopAgent(): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    agent.stopped = true;
    this.agent = undefined;
    this.lastChangeRate = agent.pace.rates().change;
    await agent.loop.stop();
  }
}

/** wireReconciler's wiring (agent/wiring.ts) with a prototype's pace and registry wrapper in place of the agent's. */
function prototypeMember(settings: ReconcilerSettings, parts: ReconcilerParts, makePace: PaceFactory | undefined, wrap: RegistryWrapper | undefined): { reconciler: Reconciler; pace: ApiPace } {
  const clock = { ...(settings.now ? { now: settings.now } : {}), ...(settings.random ? { random: settings.random } : {}) };
  const paceOptions: PaceOptions = { limits: settings.limits, fleetSize: settings.fleetSize, ...clock };
  const pace = makePace ? makePace(paceOptions) : new ApiPace(paceOptions);
  const paced = new PacedRegistry(parts.registry, pace);
  const reconciler = new Reconciler({
    ...parts,
    registry: wrap ? wrap(paced) : paced,
    pace,
    fleet: { fleetSize: settings.fleetSize, limits: settings.limits, minReadIntervalMs: settings.reconcileIntervalMs },
    permanentRetryMs: settings.reconcileIntervalMs,
    retry: { baseMs: DEFAULT_RETRY.baseMs, capMs: settings.retryMaxDelayMs },
    ...clock,
  });
  return { reconciler, pace };
}

/** A container of service `groupIndex` (its task definition family `svc<i>`), as the ECS agent labels it. */
export function taskContainer(groupIndex: number, arn: string, id: string, hostPort: number, gated = false): SimContainer {
  const bridgeAddress = `172.17.${(hostPort >> 8) & 255}.${hostPort & 255}`;
  const snapshot: ContainerSnapshot = {
    id,
    name: `ecs-svc${groupIndex}-1-app-${id.slice(0, 12)}`,
    labels: {
      [ECS_TASK_ARN_LABEL]: `arn:aws:ecs:us-east-1:123456789012:task/fleet/${id.slice(0, 32)}`,
      [ECS_CONTAINER_NAME_LABEL]: 'app',
      [ECS_FAMILY_LABEL]: `svc${groupIndex}`,
      [TARGET_GROUP_ARN_LABEL]: arn,
      ...(gated ? { [READINESS_GATE_LABEL]: 'true' } : {}),
    },
    running: true,
    stopping: false,
    health: 'none',
    networkMode: 'bridge',
    ports: [{ containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort }],
    exposedPorts: [{ containerPort: 8080, protocol: 'tcp' }],
    ipAddresses: [bridgeAddress],
  };
  return { id, groupIndex, hostPort, snapshot, killed: false, running: true, bridgeAddress };
}
