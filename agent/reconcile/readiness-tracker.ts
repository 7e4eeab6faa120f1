/**
 * The readiness gate's side of the reconciler: what the last pass saw (the gate answers from it,
 * never calling anything), which gated containers were found ready (they stay ready until they
 * stop), and when the groups in which a gated container waits are read next (first when its
 * health can have turned, then every health-check interval, within the fleet's share of the
 * Describe budget).
 */
import { shortTargetGroup } from '../core/arn.ts';
import type { ContainerSnapshot } from '../core/container.ts';
import type { GateAnswer, GateQuery } from '../core/gate.ts';
import type { ActualTarget, TargetRegistry } from '../core/target-registry.ts';
import { gateReadIntervalMs, type ApiLimits } from '../fleet/api-budget.ts';
import type { ApiPace } from '../fleet/api-pace.ts';
import { READ_JITTER } from '../fleet/read-schedule.ts';
import type { Log } from '../log.ts';
import type { DesiredEndpoint } from '../mapping/desired.ts';
import { gateVerdict, identifyCaller } from './readiness.ts';
import { jittered } from '../core/backoff.ts';

/** ALB's default health check (30 s x 5), until DescribeTargetGroups answered. */
const DEFAULT_HEALTH_CHECK = { intervalMs: 30_000, healthyThreshold: 5 };

export interface ReadinessTrackerOptions {
  readonly registry: TargetRegistry;
  readonly pace: ApiPace;
  readonly log: Log;
  readonly fleetSize: number;
  readonly limits: ApiLimits;
  readonly now: () => number;
  readonly random: () => number;
}

/** What the gate answers from, and the gate's reads. */
export class ReadinessTracker {
  /** The last pass's containers, endpoints and address. */
  private seen: { containers: readonly ContainerSnapshot[]; endpoints: readonly DesiredEndpoint[]; address?: string } = { containers: [], endpoints: [] };
  /** Gated containers found ready: they stay ready until they stop. */
  private readonly latched = new Set<string>();
  /** Groups with a pending gate: when to read them next. */
  private readonly reads = new Map<string, number>();
  /** When this host last registered a gated target in a group. */
  private readonly registeredAt = new Map<string, number>();
  /** Health check settings per group (DescribeTargetGroups, once). */
  private readonly healthChecks = new Map<string, { intervalMs: number; healthyThreshold: number }>();

  constructor(private readonly options: ReadinessTrackerOptions) {}

  /**
   * What this pass sees: the gate answers from it until the next. A container that stopped is no
   * longer latched. Returns the groups whose gate read is due now.
   */
  saw(containers: readonly ContainerSnapshot[], endpoints: readonly DesiredEndpoint[], address: string | undefined): string[] {
    this.seen = { containers, endpoints, ...(address !== undefined ? { address } : {}) };
    for (const id of this.latched) if (!containers.some((c) => c.id === id && c.running && !c.stopping)) this.latched.delete(id);
    return [...this.reads].filter(([, at]) => at <= this.options.now()).map(([arn]) => arn);
  }

  /**
   * Answers the gate for the container a request comes from: ready once every one of its targets
   * is healthy in every group (then latched until it stops). Bounded: the last pass's data only.
   */
  answer(q: GateQuery, view: (arn: string) => readonly ActualTarget[]): GateAnswer {
    const container = identifyCaller(this.seen.containers, q);
    const answer = gateVerdict({
      container,
      endpoints: container ? this.seen.endpoints.filter((e) => e.containerId === container.id) : [],
      view,
      address: this.seen.address,
      latched: container !== undefined && this.latched.has(container.id),
    });
    if (answer.ready && container && !this.latched.has(container.id)) {
      this.latched.add(container.id);
      this.options.log.info(`readiness gate open for ${container.name}`, { event: 'gate-open', container: container.name, containerId: container.id.slice(0, 12) });
    }
    return answer;
  }

  /** The group was read: its next gate read is scheduled afresh. */
  wasRead(arn: string): void {
    this.reads.delete(arn);
  }

  /** A gated target went into the group now: its health is read once it can have turned. */
  gatedRegistered(arn: string): void {
    this.registeredAt.set(arn, this.options.now());
    this.reads.delete(arn);
  }

  /** How long until each gate read is due (not before `floorMs`), for groups not backing off. */
  nextReadsInMs(floorMs: number, backingOff: (arn: string) => boolean): number[] {
    return [...this.reads].filter(([arn]) => !backingOff(arn)).map(([, at]) => Math.max(floorMs, at - this.options.now()));
  }

  /** Schedules reads of the groups in which a gated container waits for a healthy target. */
  async schedule(groups: readonly string[], view: (arn: string) => readonly ActualTarget[]): Promise<void> {
    const pending = new Set<string>();
    for (const e of this.seen.endpoints) {
      if (!e.gated || this.latched.has(e.containerId) || this.seen.address === undefined) continue;
      const t = view(e.targetGroupArn).find((x) => x.id === this.seen.address && x.port === e.port);
      if (t?.state !== 'healthy') pending.add(e.targetGroupArn);
    }
    for (const arn of groups) {
      if (!pending.has(arn)) {
        this.reads.delete(arn);
        continue;
      }
      if (this.reads.has(arn)) continue;
      const hc = await this.healthCheckOf(arn);
      const now = this.options.now();
      const firstHealthy = (this.registeredAt.get(arn) ?? 0) + hc.intervalMs * hc.healthyThreshold;
      // No more often than the group's checks can change it, nor than the fleet's share of the Describe budget allows.
      const every = Math.max(hc.intervalMs, gateReadIntervalMs(this.options.fleetSize, this.options.limits));
      this.reads.set(arn, firstHealthy > now ? firstHealthy : now + jittered(every, READ_JITTER, this.options.random));
    }
  }

  /** The group's health check interval and healthy threshold (DescribeTargetGroups once, when the pace allows). */
  private async healthCheckOf(arn: string): Promise<{ intervalMs: number; healthyThreshold: number }> {
    const known = this.healthChecks.get(arn);
    if (known) return known;
    if (this.options.pace.delayMs('describe') !== 0) return DEFAULT_HEALTH_CHECK;
    try {
      const g = await this.options.registry.describeGroup(arn);
      const found = { intervalMs: (g.healthCheckIntervalSeconds ?? 30) * 1000, healthyThreshold: g.healthyThresholdCount ?? 5 };
      this.healthChecks.set(arn, found);
      return found;
    } catch (err) {
      this.options.log.debug(`cannot read the health check settings of ${shortTargetGroup(arn)}: ${err instanceof Error ? err.message : String(err)}`);
      return DEFAULT_HEALTH_CHECK;
    }
  }
}
