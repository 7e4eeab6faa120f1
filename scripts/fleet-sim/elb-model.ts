/**
 * The account's side of the simulation: ELBv2 as the fleet meets it. The token buckets are
 * the local ELBv2 endpoint's own (test/support/local-elbv2/account-throttle.ts on the virtual
 * clock), so the model and the endpoint the integration tests use are the same code. Target
 * groups hold (Id, Port) targets: RegisterTargets and DeregisterTargets are idempotent,
 * re-registering a draining target revives it, a deregistered target drains for the
 * deregistration delay. Every call is answered after a virtual latency; the bucket is
 * spent when the request reaches the service (half way).
 */
import { shortTargetGroup } from '../../agent/core/arn.ts';
import type { ActualTarget, TargetGroupInfo, TargetRef, TargetRegistry } from '../../agent/core/target-registry.ts';
import { OperationError } from '../../agent/errors.ts';
import type { ApiLimits } from '../../agent/fleet/api-budget.ts';
import { AccountThrottle, apiClassOf } from '../../test/support/local-elbv2/account-throttle.ts';
import type { VirtualTime } from './virtual-time.ts';

/** The actions the agent's registry port sends. */
export type SimAction = 'DescribeTargetHealth' | 'RegisterTargets' | 'DeregisterTargets' | 'DescribeTargetGroups';

export interface ElbModelOptions {
  readonly clock: VirtualTime;
  readonly random: () => number;
  /** The account's buckets (what AWS enforces; not necessarily what the agents are told). */
  readonly limits: ApiLimits;
  /** Each call is answered after a latency uniform in this range (ms). */
  readonly latencyMs: readonly [number, number];
  readonly deregistrationDelayMs: number;
  /** Every group's health check: a new target turns healthy after interval x healthy threshold. */
  readonly healthCheck: { readonly intervalSeconds: number; readonly healthyThreshold: number };
  /** Width of the time-series buckets (ms). */
  readonly bucketMs: number;
  /** Keep a log of every call (small runs: tests). */
  readonly recordCalls?: boolean;
}

interface StoredTarget {
  state: 'initial' | 'draining';
  since: number;
  availabilityZone?: string;
}

/** One call as the service saw it. */
export interface CallRecord {
  readonly time: number;
  readonly host: number;
  readonly action: SimAction;
  readonly targetGroupArn: string;
  readonly targets: number;
  readonly throttled: boolean;
}

/** Per time bucket: calls let through and throttled, per class. */
export interface SeriesBucket {
  describe: number;
  describeThrottled: number;
  change: number;
  changeThrottled: number;
}

export type ClassCounts = Record<'describe' | 'change', { allowed: number; throttled: number }>;

/** Who is calling: the host's index and every address it ever registered (what its plan can own). */
export interface Caller {
  readonly index: number;
  readonly addressesEver: ReadonlySet<string>;
}

export class ElbModel {
  private readonly throttle: AccountThrottle;
  /** group -> ip -> port -> target */
  private readonly groups = new Map<string, Map<string, Map<number, StoredTarget>>>();
  readonly series: SeriesBucket[] = [];
  readonly counts: ClassCounts = { describe: { allowed: 0, throttled: 0 }, change: { allowed: 0, throttled: 0 } };
  readonly calls: CallRecord[] = [];
  /** Told after a register or deregister changed what an address holds. */
  onChange: (ip: string) => void = () => {};
  /** Addresses that answer health checks now (the hosts' current addresses). */
  isLive: (ip: string) => boolean = () => true;

  constructor(private readonly o: ElbModelOptions) {
    this.throttle = new AccountThrottle(
      { describe: { ratePerSecond: o.limits.describe.perSecond, burst: o.limits.describe.burst }, change: { ratePerSecond: o.limits.change.perSecond, burst: o.limits.change.burst } },
      o.clock.now,
    );
  }

  addGroup(arn: string): void {
    this.groups.set(arn, new Map());
  }

  /** Puts targets in place before the run (what the fleet registered before the simulated period). */
  seed(arn: string, targets: readonly TargetRef[]): void {
    for (const t of targets) this.group(arn, t.id).set(t.port, { state: 'initial', since: -1e9, ...(t.availabilityZone ? { availabilityZone: t.availabilityZone } : {}) });
  }

  /** The ports an address holds (not draining) in a group. */
  livePorts(arn: string, ip: string): number[] {
    const byPort = this.groups.get(arn)?.get(ip);
    if (!byPort) return [];
    return [...byPort.entries()].filter(([, t]) => t.state !== 'draining').map(([p]) => p);
  }

  /** Removes a target behind the agents' back (drift). */
  removeBehindTheBack(arn: string, ip: string, port: number): void {
    this.groups.get(arn)?.get(ip)?.delete(port);
    this.onChange(ip);
  }

  /** The registry port one host's agent talks to. */
  registryFor(caller: Caller): TargetRegistry {
    return {
      describeTargets: (arn) => this.request(caller, 'DescribeTargetHealth', arn, 0, () => this.describe(arn, caller)),
      register: (arn, targets) => this.request(caller, 'RegisterTargets', arn, targets.length, () => this.register(arn, targets)),
      deregister: (arn, targets) => this.request(caller, 'DeregisterTargets', arn, targets.length, () => this.deregister(arn, targets)),
      describeGroup: (arn) =>
        this.request(caller, 'DescribeTargetGroups', arn, 0, (): TargetGroupInfo => ({
          arn, name: shortTargetGroup(arn).slice(3), targetType: 'ip', protocol: 'HTTP', port: 80,
          healthCheckIntervalSeconds: this.o.healthCheck.intervalSeconds, healthyThresholdCount: this.o.healthCheck.healthyThreshold,
        })),
    };
  }

  private request<T>(caller: Caller, action: SimAction, arn: string, targets: number, apply: () => T): Promise<T> {
    const [min, max] = this.o.latencyMs;
    const latency = min + (max - min) * this.o.random();
    return new Promise<T>((resolve, reject) => {
      this.o.clock.set(() => {
        const allowed = this.throttle.tryTake(action);
        this.count(caller.index, action, arn, targets, allowed);
        if (!allowed) {
          this.o.clock.set(() => reject(new OperationError(action, shortTargetGroup(arn), 'Throttling', 'throttled', 'Rate exceeded')), latency / 2);
          return;
        }
        if (!this.groups.has(arn)) {
          this.o.clock.set(() => reject(new OperationError(action, shortTargetGroup(arn), 'TargetGroupNotFound', 'permanent', 'no such target group')), latency / 2);
          return;
        }
        const out = apply();
        this.o.clock.set(() => resolve(out), latency / 2);
      }, latency / 2);
    });
  }

  private count(host: number, action: SimAction, arn: string, targets: number, allowed: boolean): void {
    const cls = apiClassOf(action) === 'change' ? 'change' : 'describe';
    const i = Math.floor(this.o.clock.now() / this.o.bucketMs);
    while (this.series.length <= i) this.series.push({ describe: 0, describeThrottled: 0, change: 0, changeThrottled: 0 });
    const b = this.series[i] as SeriesBucket;
    if (cls === 'change') {
      if (allowed) b.change++;
      else b.changeThrottled++;
    } else if (allowed) b.describe++;
    else b.describeThrottled++;
    this.counts[cls][allowed ? 'allowed' : 'throttled']++;
    if (this.o.recordCalls) this.calls.push({ time: this.o.clock.now(), host, action, targetGroupArn: arn, targets, throttled: !allowed });
  }

  private group(arn: string, ip: string): Map<number, StoredTarget> {
    const g = this.groups.get(arn) as Map<string, Map<number, StoredTarget>>;
    let byPort = g.get(ip);
    if (!byPort) {
      byPort = new Map();
      g.set(ip, byPort);
    }
    return byPort;
  }

  /**
   * DescribeTargetHealth as the caller's plan sees it: the targets on the addresses it ever
   * held. (ELBv2 answers with every target of the group; other hosts' targets are invisible to
   * a host's plan by the ownership rule, and returning 10,000 of them to each of 10,000 hosts
   * would cost the simulation memory, not fidelity. Addresses are never reused in the model.)
   */
  private describe(arn: string, caller: Caller): ActualTarget[] {
    const now = this.o.clock.now();
    const g = this.groups.get(arn) as Map<string, Map<number, StoredTarget>>;
    const out: ActualTarget[] = [];
    for (const ip of caller.addressesEver) {
      const byPort = g.get(ip);
      if (!byPort) continue;
      for (const [port, t] of byPort) {
        if (t.state === 'draining' && now - t.since >= this.o.deregistrationDelayMs) {
          byPort.delete(port);
          continue;
        }
        const healthyAfterMs = 1000 * this.o.healthCheck.intervalSeconds * this.o.healthCheck.healthyThreshold;
        const state = t.state === 'draining' ? 'draining' : !this.isLive(ip) ? 'unhealthy' : now - t.since >= healthyAfterMs ? 'healthy' : 'initial';
        out.push({ id: ip, port, ...(t.availabilityZone ? { availabilityZone: t.availabilityZone } : {}), state });
      }
    }
    return out;
  }

  private register(arn: string, targets: readonly TargetRef[]): void {
    const now = this.o.clock.now();
    const touched = new Set<string>();
    for (const t of targets) {
      const byPort = this.group(arn, t.id);
      const known = byPort.get(t.port);
      if (known && known.state !== 'draining') continue;
      byPort.set(t.port, { state: 'initial', since: now, ...(t.availabilityZone ? { availabilityZone: t.availabilityZone } : {}) });
      touched.add(t.id);
    }
    for (const ip of touched) this.onChange(ip);
  }

  private deregister(arn: string, targets: readonly TargetRef[]): void {
    const now = this.o.clock.now();
    const touched = new Set<string>();
    for (const t of targets) {
      const known = this.groups.get(arn)?.get(t.id)?.get(t.port);
      if (!known || known.state === 'draining') continue;
      known.state = 'draining';
      known.since = now;
      touched.add(t.id);
    }
    for (const ip of touched) this.onChange(ip);
  }
}
