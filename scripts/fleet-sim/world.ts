/**
 * The simulated fleet: N hosts sharing G target groups and one account, the ELB model, the
 * exactness tracker, and what ECS and Docker do to hosts (start a task, send a stop signal,
 * the container exits), each delivered to the host's agent as the Docker events it watches.
 */
import type { ApiLimits } from '../../agent/fleet/api-budget.ts';
import { ElbModel } from './elb-model.ts';
import { stream, uniform } from './random.ts';
import { SimHost, taskContainer, type PaceFactory, type RegistryWrapper, type SimContainer } from './sim-host.ts';
import { ExactTracker } from './tracker.ts';
import { VirtualTime } from './virtual-time.ts';

export interface WorldOptions {
  readonly hosts: number;
  readonly groups: number;
  readonly seed: number;
  /** What the account enforces. */
  readonly accountLimits: ApiLimits;
  /** What every agent is configured with (--elb-api-limits). */
  readonly agentLimits: ApiLimits;
  /** --fleet-size of every agent. */
  readonly fleetSize: number;
  readonly reconcileIntervalMs: number;
  readonly addressCheckIntervalMs: number;
  readonly retryMaxDelayMs: number;
  readonly latencyMs: readonly [number, number];
  readonly deregistrationDelayMs: number;
  readonly bucketMs: number;
  /** Every host sees the same containers (one Docker engine shared by every agent, as in the integration test). */
  readonly sharedContainers: boolean;
  /** Docker event delivery delay to each agent (ms). */
  readonly eventDelayMs: readonly [number, number];
  /** Hosts start with one task per group registered and recorded (false: empty groups and state). */
  readonly warm: boolean;
  readonly pace?: PaceFactory;
  readonly wrapRegistry?: RegistryWrapper;
  readonly recordCalls: boolean;
}

const ACCOUNT = '123456789012';

/** A well-formed target group ARN for group `g`. */
export function groupArn(g: number): string {
  return `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/fleet-g${g}/${(0xf1ee7000 + g).toString(16).padStart(16, '0')}`;
}

/** Dotted-quad of a 32-bit number. */
export function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The i-th address of a pool (10.8.0.11, 10.8.0.12, ... like the integration test's agents). */
export function poolAddress(pool: 'initial' | 'after-vpn', i: number): string {
  const base = pool === 'initial' ? (10 << 24) + (8 << 16) : (10 << 24) + (100 << 16);
  return ipv4(base + 11 + i);
}

export class World {
  readonly clock = new VirtualTime();
  readonly model: ElbModel;
  readonly hosts: SimHost[] = [];
  readonly groups: string[];
  readonly tracker: ExactTracker;
  readonly random: () => number;
  private readonly byIp = new Map<string, SimHost>();
  private readonly shared: SimContainer[] = [];
  private nextId = 1;
  private readonly nextPort: number[] = [];

  constructor(readonly o: WorldOptions) {
    this.random = stream(o.seed, 'world');
    this.groups = Array.from({ length: o.groups }, (_, g) => groupArn(g));
    this.model = new ElbModel({
      clock: this.clock,
      random: stream(o.seed, 'elb'),
      limits: o.accountLimits,
      latencyMs: o.latencyMs,
      deregistrationDelayMs: o.deregistrationDelayMs,
      // ALB's defaults for an HTTP target group: a new target is healthy after 5 checks 30 s apart.
      healthCheck: { intervalSeconds: 30, healthyThreshold: 5 },
      bucketMs: o.bucketMs,
      recordCalls: o.recordCalls,
    });
    for (const arn of this.groups) this.model.addGroup(arn);
    for (let i = 0; i < o.hosts; i++) {
      this.nextPort.push(32768);
      this.hosts.push(
        new SimHost({
          index: i,
          clock: this.clock,
          model: this.model,
          random: stream(o.seed, 'host', i),
          groups: this.groups,
          fleetSize: o.fleetSize,
          limits: o.agentLimits,
          reconcileIntervalMs: o.reconcileIntervalMs,
          addressCheckIntervalMs: o.addressCheckIntervalMs,
          retryMaxDelayMs: o.retryMaxDelayMs,
          ...(o.pace ? { pace: o.pace } : {}),
          ...(o.wrapRegistry ? { wrapRegistry: o.wrapRegistry } : {}),
          containers: o.sharedContainers ? this.shared : [],
        }),
      );
    }
    this.tracker = new ExactTracker(this.hosts, this.model, this.groups, this.clock.now);
    this.model.onChange = (ip) => {
      const h = this.byIp.get(ip);
      if (h) this.tracker.update(h);
    };
    this.model.isLive = (ip) => this.byIp.get(ip)?.address === ip;
    for (const h of this.hosts) this.assignAddress(h, poolAddress('initial', h.index));
    if (o.warm) this.seedWarm();
    this.tracker.updateAll();
  }

  /** Gives a host an address (the agent notices within its address-check interval). */
  assignAddress(h: SimHost, address: string | undefined): void {
    if (address !== undefined) this.byIp.set(address, h);
    h.setAddress(address);
    this.tracker.update(h);
  }

  /** One task per group on every host, registered and recorded before the run (an established fleet). */
  private seedWarm(): void {
    if (this.o.sharedContainers) {
      for (let g = 0; g < this.groups.length; g++) this.shared.push(this.newContainer(0, g));
    }
    for (const h of this.hosts) {
      if (!this.o.sharedContainers) for (let g = 0; g < this.groups.length; g++) h.containers.push(this.newContainer(h.index, g));
      const address = h.address as string;
      const targets = h.containers.map((c) => ({
        targetGroupArn: this.groups[c.groupIndex] as string,
        id: address,
        port: c.hostPort,
        availabilityZone: 'all',
        containerId: c.id,
        containerName: c.snapshot.name,
        taskArn: c.snapshot.labels['com.amazonaws.ecs.task-arn'] as string,
      }));
      for (const t of targets) this.model.seed(t.targetGroupArn, [{ id: t.id, port: t.port, availabilityZone: 'all' }]);
      h.state = { version: 1, addresses: [address], targets };
    }
  }

  private newContainer(hostIndex: number, g: number, gated = false): SimContainer {
    const id = (this.nextId++).toString(16).padStart(12, '0').repeat(5).slice(0, 64);
    const port = this.nextPort[this.o.sharedContainers ? 0 : hostIndex] as number;
    this.nextPort[this.o.sharedContainers ? 0 : hostIndex] = port + 1;
    return taskContainer(g, this.groups[g] as string, id, port, gated);
  }

  /** The hosts a container's events reach: its own, or every host with one shared engine. */
  private audience(h: SimHost): SimHost[] {
    return this.o.sharedContainers ? this.hosts : [h];
  }

  private deliver(h: SimHost, action: 'start' | 'kill' | 'die' | 'stop', id: string): void {
    for (const to of this.audience(h)) {
      this.tracker.update(to);
      this.clock.set(() => to.dockerEvent(action, id), uniform(this.random, this.o.eventDelayMs[0], this.o.eventDelayMs[1]));
    }
  }

  /** ECS starts a task of service `g` on the host (its container starts: `start`); `gated`: labelled ecs-anywhere-lb.readiness-gate=true. */
  startTask(h: SimHost, g: number, gated = false): SimContainer {
    const c = this.newContainer(h.index, g, gated);
    h.containers.push(c);
    this.deliver(h, 'start', c.id);
    return c;
  }

  /** ECS stops a task: the stop signal (`kill`), then the process exits after `graceMs` (`die`, `stop`). */
  stopTask(h: SimHost, c: SimContainer, graceMs: number): void {
    c.killed = true;
    this.deliver(h, 'kill', c.id);
    this.clock.set(() => {
      c.running = false;
      const list = h.containers;
      const at = list.indexOf(c);
      if (at >= 0) list.splice(at, 1);
      this.deliver(h, 'die', c.id);
      this.deliver(h, 'stop', c.id);
    }, graceMs);
  }

  /** The running, not stopping, task of service `g` on the host. */
  taskOf(h: SimHost, g: number): SimContainer | undefined {
    return h.containers.find((c) => c.groupIndex === g && c.running && !c.killed);
  }
}
