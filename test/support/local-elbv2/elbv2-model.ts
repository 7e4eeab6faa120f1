/**
 * The state of the local ELBv2 endpoint and every rule about it: target groups, their
 * attributes and targets, registration checks, draining, and health bookkeeping. No HTTP
 * and no timers: time comes from an injectable clock, draining targets expire lazily on the
 * next read, and health checks are handed out as jobs (see HealthMonitor).
 */
import { invalidTarget, targetGroupNotFound, validationError, ElbError } from './elb-error.ts';
import { cidrContains, isPrivateTargetAddress, parseIpv4 } from './ipv4-cidr.ts';
import type { Cidr } from './ipv4-cidr.ts';
import { parseHttpCodeMatcher } from './health-probe.ts';
import type { ProbeSpec } from './health-probe.ts';
import { DEREGISTRATION_IN_PROGRESS, NOT_REGISTERED, newHealthProgress, nextHealth } from './health-state.ts';
import type { HealthProgress, ProbeResult, TargetHealthStatus, TargetState } from './health-state.ts';
import { newTargetGroupArn, parseTargetGroupArn } from './target-group-arn.ts';
import { LoadBalancerRegistry, crossZoneOffRefusal } from './load-balancers.ts';
import { CROSS_ZONE_KEY, DEREGISTRATION_DELAY_KEY, defaultAttributes, validateAttributeChanges } from './target-group-attributes.ts';
import { resolveTargetGroupSettings, sameSettings } from './target-group-settings.ts';
import type { CreateTargetGroupInput, TargetGroupSettings } from './target-group-settings.ts';

/** What the model needs to know about its surroundings. */
export interface ModelOptions {
  readonly region: string;
  readonly accountId: string;
  /** CIDR blocks of a VPC (addresses inside need no AvailabilityZone). */
  readonly vpcCidrs: (vpcId: string) => readonly Cidr[];
  readonly maxTargetsPerGroup: number;
  readonly defaultDeregistrationDelaySeconds: number;
  /** Overrides every group's health check interval (tests cannot wait 30 s). */
  readonly healthCheckIntervalMs?: number;
  /** Overrides every group's health check timeout. */
  readonly healthCheckTimeoutMs?: number;
  readonly now?: () => number;
}

/** A target as a caller names it: Port defaults to the group's port. */
export interface TargetInput {
  readonly id: string;
  readonly port?: number;
  readonly availabilityZone?: string;
}

/** A target group as DescribeTargetGroups reports it. */
export interface TargetGroupView extends TargetGroupSettings {
  readonly arn: string;
}

/** One entry of DescribeTargetHealth. */
export interface TargetHealthView {
  readonly id: string;
  readonly port: number;
  readonly availabilityZone?: string;
  readonly healthCheckPort: string;
  readonly health: TargetHealthStatus;
}

/** A flat view of a registered target, for tests. */
export interface TargetSnapshot {
  readonly id: string;
  readonly port: number;
  readonly availabilityZone?: string;
  readonly state: TargetState;
  readonly reason?: string;
}

/** A health check the model wants run now; feed the outcome back with `recordHealthCheck`. */
export interface HealthCheckJob {
  readonly groupArn: string;
  readonly targetKey: string;
  readonly generation: number;
  readonly targetId: string;
  readonly probe: Omit<ProbeSpec, 'address'>;
}

/**
 * A change in the targets a group holds, reported to load balancer listeners (see
 * load-balancer-listener.ts) the moment the model makes it; each listener applies it after its
 * propagation delay. Health changes are not reported: listeners read them live (`currentTarget`).
 */
export type MembershipChange =
  | {
      readonly kind: 'registered';
      readonly groupArn: string;
      readonly key: string;
      readonly id: string;
      readonly port: number;
      /** The life this registration starts. */
      readonly generation: number;
      readonly at: number;
    }
  | {
      readonly kind: 'deregistered';
      readonly groupArn: string;
      readonly key: string;
      readonly id: string;
      readonly port: number;
      /** The draining life this deregistration starts (the serving life was `generation - 1`). */
      readonly generation: number;
      readonly at: number;
      readonly drainingUntil: number;
      /** Health of the serving life when it ended: what a listener that has not yet heard keeps using. */
      readonly stateBefore: TargetState;
    };

/** A target a group holds now, with the life it is in (for listeners). */
export interface MemberView {
  readonly key: string;
  readonly id: string;
  readonly port: number;
  readonly generation: number;
  readonly state: TargetState;
  /** Set while draining: when the deregistration delay ends. */
  readonly drainingUntil?: number;
}

/** One page of DescribeTargetGroups. */
export interface TargetGroupPage {
  readonly groups: readonly TargetGroupView[];
  readonly nextMarker?: string;
}

interface TargetRecord {
  readonly id: string;
  readonly port: number;
  readonly availabilityZone?: string;
  health: HealthProgress;
  drainingUntil?: number;
  /** Bumped whenever the target starts a new life (re-registration, deregistration). */
  generation: number;
  nextCheckAt: number;
  checkInFlight: boolean;
}

interface GroupRecord {
  readonly arn: string;
  readonly settings: TargetGroupSettings;
  readonly attributes: Map<string, string>;
  readonly targets: Map<string, TargetRecord>;
}

const DEFAULT_PAGE_SIZE = 400;

/** The in-memory ELBv2 control plane (target groups only; no load balancers or listeners). */
export class Elbv2Model {
  private readonly groups = new Map<string, GroupRecord>();
  /** The load balancers the groups are attached to (zones, cross-zone setting). */
  readonly loadBalancers: LoadBalancerRegistry;
  private readonly now: () => number;
  private readonly membershipListeners = new Set<(change: MembershipChange) => void>();

  constructor(private readonly options: ModelOptions) {
    this.now = options.now ?? Date.now;
    this.loadBalancers = new LoadBalancerRegistry(options.region, options.accountId);
  }

  /** CreateTargetGroup: creates, or returns the existing group when name and settings match. */
  createTargetGroup(input: CreateTargetGroupInput): TargetGroupView {
    const settings = resolveTargetGroupSettings(input);
    const existing = [...this.groups.values()].find((group) => group.settings.name === settings.name);
    if (existing) {
      if (!sameSettings(existing.settings, settings)) {
        throw new ElbError('DuplicateTargetGroupName', `A target group with the same name '${settings.name}' exists, but with different settings`);
      }
      return viewOf(existing);
    }
    const arn = newTargetGroupArn(this.options.region, this.options.accountId, settings.name);
    this.groups.set(arn, {
      arn,
      settings,
      attributes: defaultAttributes(this.options.defaultDeregistrationDelaySeconds),
      targets: new Map(),
    });
    return { arn, ...settings };
  }

  /** DescribeTargetGroups: all groups, or those named by ARN or name; paged by PageSize and Marker. */
  describeTargetGroups(query: { arns?: readonly string[]; names?: readonly string[]; pageSize?: number; marker?: string }): TargetGroupPage {
    if (query.arns?.length && query.names?.length) {
      throw validationError('Target group names and target group ARNs cannot be specified at the same time');
    }
    let selected: GroupRecord[];
    if (query.arns?.length) {
      const missing: string[] = [];
      selected = [];
      for (const arn of query.arns) {
        requireWellFormedArn(arn);
        const group = this.groups.get(arn);
        if (group) selected.push(group);
        else missing.push(arn);
      }
      if (missing.length > 0) throw targetGroupNotFound(`Target groups '${missing.join("', '")}' not found`);
    } else if (query.names?.length) {
      const wanted = new Set(query.names);
      selected = [...this.groups.values()].filter((group) => wanted.has(group.settings.name));
      if (selected.length < wanted.size) throw targetGroupNotFound('One or more target groups not found');
    } else {
      selected = [...this.groups.values()];
    }
    const ordered = selected.map((group) => ({ group, key: sortKey(group) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let start = 0;
    if (query.marker !== undefined) {
      const after = decodeMarker(query.marker);
      start = ordered.findIndex((entry) => entry.key > after);
      if (start === -1) start = ordered.length;
    }
    const pageSize = query.pageSize ?? DEFAULT_PAGE_SIZE;
    const page = ordered.slice(start, start + pageSize);
    const last = page.at(-1);
    const hasMore = start + pageSize < ordered.length;
    return {
      groups: page.map((entry) => viewOf(entry.group)),
      ...(hasMore && last ? { nextMarker: encodeMarker(last.key) } : {}),
    };
  }

  /** DescribeTargetGroupAttributes. */
  describeAttributes(arn: string): Array<[string, string]> {
    return [...this.group(arn).attributes];
  }

  /** ModifyTargetGroupAttributes: validates every change first, then applies all; returns all attributes. */
  modifyAttributes(arn: string, changes: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
    const group = this.group(arn);
    if (changes.length === 0) throw validationError('At least one attribute must be specified');
    validateAttributeChanges(changes);
    for (const [key, value] of changes) group.attributes.set(key, value);
    return [...group.attributes];
  }

  /**
   * RegisterTargets: checks every target before changing anything (one bad target fails the
   * call), then adds new targets as `initial`. Already registered targets are left alone,
   * except that a `draining` one starts over as `initial`.
   */
  registerTargets(arn: string, targets: readonly TargetInput[]): void {
    const group = this.group(arn);
    if (targets.length === 0) throw validationError('At least one target must be specified');
    const resolved = targets.map((target) => this.checkTargetForRegistration(group, target));
    const newKeys = new Set(resolved.map((target) => targetKey(target.id, target.port)).filter((key) => !group.targets.has(key)));
    if (group.targets.size + newKeys.size > this.options.maxTargetsPerGroup) {
      throw new ElbError(
        'TooManyTargets',
        `You've reached the limit on the number of targets: target group '${group.settings.name}' can hold at most ${this.options.maxTargetsPerGroup} targets`,
      );
    }
    const now = this.now();
    for (const target of resolved) {
      const key = targetKey(target.id, target.port);
      const existing = group.targets.get(key);
      if (existing && existing.drainingUntil === undefined) continue;
      const generation = (existing?.generation ?? 0) + 1;
      group.targets.set(key, {
        id: target.id,
        port: target.port,
        ...(target.availabilityZone !== undefined ? { availabilityZone: target.availabilityZone } : {}),
        health: newHealthProgress(),
        generation,
        nextCheckAt: now + this.intervalMs(group),
        checkInFlight: false,
      });
      this.emit({ kind: 'registered', groupArn: arn, key, id: target.id, port: target.port, generation, at: now });
    }
  }

  /** DeregisterTargets: known targets start draining for the group's deregistration delay; unknown ones are ignored. */
  deregisterTargets(arn: string, targets: readonly TargetInput[]): void {
    const group = this.group(arn);
    if (targets.length === 0) throw validationError('At least one target must be specified');
    for (const target of targets) this.checkTargetId(group, target.id);
    const delaySeconds = Number(group.attributes.get(DEREGISTRATION_DELAY_KEY) ?? '300');
    const now = this.now();
    for (const target of targets) {
      const key = targetKey(target.id, target.port ?? group.settings.port);
      const record = group.targets.get(key);
      if (!record || record.drainingUntil !== undefined) continue;
      const stateBefore = record.health.status.state;
      record.drainingUntil = now + delaySeconds * 1000;
      record.generation += 1;
      record.checkInFlight = false;
      this.emit({
        kind: 'deregistered',
        groupArn: arn,
        key,
        id: record.id,
        port: record.port,
        generation: record.generation,
        at: now,
        drainingUntil: record.drainingUntil,
        stateBefore,
      });
    }
    this.purgeExpired();
  }

  /** Calls `listener` for every future registration and deregistration; returns the unsubscribe function. */
  onMembershipChange(listener: (change: MembershipChange) => void): () => void {
    this.membershipListeners.add(listener);
    return () => this.membershipListeners.delete(listener);
  }

  /** Every target a group holds now, draining ones included (a listener's starting point). */
  members(arn: string): MemberView[] {
    const group = this.group(arn);
    return [...group.targets].map(([key, record]) => ({
      key,
      id: record.id,
      port: record.port,
      generation: record.generation,
      state: record.drainingUntil !== undefined ? 'draining' : record.health.status.state,
      ...(record.drainingUntil !== undefined ? { drainingUntil: record.drainingUntil } : {}),
    }));
  }

  /** One target's life and state now (undefined when the group or target is gone); no validation, no throw. */
  currentTarget(arn: string, key: string): { readonly generation: number; readonly state: TargetState } | undefined {
    const record = this.groups.get(arn)?.targets.get(key);
    if (!record) return undefined;
    if (record.drainingUntil !== undefined && record.drainingUntil <= this.now()) return undefined;
    return { generation: record.generation, state: record.drainingUntil !== undefined ? 'draining' : record.health.status.state };
  }

  /** Attribute value of an existing group (undefined for an unknown group or key); no validation, no throw. */
  attribute(arn: string, key: string): string | undefined {
    return this.groups.get(arn)?.attributes.get(key);
  }

  /** DescribeTargetHealth: every target, or the named ones (unregistered ones are `unused`). */
  describeTargetHealth(arn: string, targets?: readonly TargetInput[]): TargetHealthView[] {
    const group = this.group(arn);
    if (targets === undefined || targets.length === 0) {
      return [...group.targets.values()].map((record) => healthViewOf(group, record));
    }
    return targets.map((target) => {
      this.checkTargetId(group, target.id);
      const port = target.port ?? group.settings.port;
      const record = group.targets.get(targetKey(target.id, port));
      if (record) return healthViewOf(group, record);
      return {
        id: target.id,
        port,
        ...(target.availabilityZone !== undefined ? { availabilityZone: target.availabilityZone } : {}),
        healthCheckPort: healthCheckPortOf(group, port),
        health: NOT_REGISTERED,
      };
    });
  }

  /** Registered targets (including draining ones) of a group, flattened for assertions. */
  snapshot(arn: string): TargetSnapshot[] {
    return this.describeTargetHealth(arn).map((view) => ({
      id: view.id,
      port: view.port,
      ...(view.availabilityZone !== undefined ? { availabilityZone: view.availabilityZone } : {}),
      state: view.health.state,
      ...(view.health.reason !== undefined ? { reason: view.health.reason } : {}),
    }));
  }

  /** Health checks that are due now; each is marked in flight until its result comes back. */
  takeDueHealthChecks(): HealthCheckJob[] {
    this.purgeExpired();
    const now = this.now();
    const jobs: HealthCheckJob[] = [];
    for (const group of this.groups.values()) {
      const hc = group.settings.healthCheck;
      if (!hc.enabled) continue;
      const matches = parseHttpCodeMatcher(hc.matcher ?? '200') ?? ((code: number) => code === 200);
      for (const [key, record] of group.targets) {
        if (record.drainingUntil !== undefined || record.checkInFlight || record.nextCheckAt > now) continue;
        record.checkInFlight = true;
        jobs.push({
          groupArn: group.arn,
          targetKey: key,
          generation: record.generation,
          targetId: record.id,
          probe: {
            protocol: hc.protocol,
            port: hc.port === 'traffic-port' ? record.port : Number(hc.port),
            path: hc.path ?? '/',
            timeoutMs: this.timeoutMs(group),
            matches,
          },
        });
      }
    }
    return jobs;
  }

  /** Applies a health check's outcome, unless the target was removed or started a new life meanwhile. */
  recordHealthCheck(job: HealthCheckJob, result: ProbeResult): void {
    const group = this.groups.get(job.groupArn);
    const record = group?.targets.get(job.targetKey);
    if (!group || !record || record.generation !== job.generation || record.drainingUntil !== undefined) return;
    const hc = group.settings.healthCheck;
    record.health = nextHealth(record.health, result, { healthy: hc.healthyThreshold, unhealthy: hc.unhealthyThreshold });
    record.checkInFlight = false;
    record.nextCheckAt = this.now() + this.intervalMs(group);
  }

  /** True when the group exists (no validation). */
  has(arn: string): boolean {
    return this.groups.has(arn);
  }

  /** Removes targets whose deregistration delay has passed. */
  purgeExpired(): void {
    const now = this.now();
    for (const group of this.groups.values()) {
      for (const [key, record] of group.targets) {
        if (record.drainingUntil !== undefined && record.drainingUntil <= now) group.targets.delete(key);
      }
    }
  }

  private emit(change: MembershipChange): void {
    for (const listener of this.membershipListeners) {
      try {
        listener(change);
      } catch (error) {
        // A listener's bug must not fail the API call that made the change.
        console.error('local-elbv2: a membership listener failed', error);
      }
    }
  }

  private group(arn: string): GroupRecord {
    requireWellFormedArn(arn);
    this.purgeExpired();
    const group = this.groups.get(arn);
    if (!group) throw targetGroupNotFound(`Target groups '${arn}' not found`);
    return group;
  }

  private intervalMs(group: GroupRecord): number {
    return this.options.healthCheckIntervalMs ?? group.settings.healthCheck.intervalSeconds * 1000;
  }

  private timeoutMs(group: GroupRecord): number {
    if (this.options.healthCheckTimeoutMs !== undefined) return this.options.healthCheckTimeoutMs;
    const configured = group.settings.healthCheck.timeoutSeconds * 1000;
    const interval = this.options.healthCheckIntervalMs;
    return interval === undefined ? configured : Math.min(configured, interval);
  }

  /** Shape checks shared by all target-taking actions. */
  private checkTargetId(group: GroupRecord, id: string): void {
    if (group.settings.targetType === 'ip') {
      if (parseIpv4(id) === undefined) throw validationError(`The IP address '${id}' is not a valid IPv4 address`);
    } else if (!/^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(id)) {
      throw validationError(`Instance ID '${id}' is not valid`);
    }
  }

  private checkTargetForRegistration(group: GroupRecord, target: TargetInput): TargetInput & { port: number } {
    this.checkTargetId(group, target.id);
    const port = target.port ?? group.settings.port;
    const zone = target.availabilityZone;
    if (group.settings.targetType !== 'ip') return { ...target, port };
    const address = parseIpv4(target.id) ?? 0;
    const inVpc = this.options.vpcCidrs(group.settings.vpcId).some((cidr) => cidrContains(cidr, address));
    if (!inVpc && !isPrivateTargetAddress(address)) {
      throw invalidTarget(
        `The IP address '${target.id}' is not a valid target: it must be in the target group's VPC (${group.settings.vpcId}), ` +
          'in the RFC 1918 ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) or in the RFC 6598 range (100.64.0.0/10)',
      );
    }
    const region = this.options.region;
    if (zone !== undefined && zone !== 'all' && !isZoneOf(region, zone)) {
      throw validationError(`The Availability Zone '${zone}' is not valid for this target group`);
    }
    if (inVpc) {
      if (zone === 'all') {
        throw validationError(`The IP address '${target.id}' is within the VPC, and cannot have its Availability Zone overridden to 'all' from '${region}a'`);
      }
      return { ...target, port };
    }
    if (zone === undefined) {
      throw validationError(`The Availability Zone is required for IP address '${target.id}' because it is not in the VPC`);
    }
    if (zone === 'all' && !this.loadBalancers.crossZoneOn(group.arn, group.attributes.get(CROSS_ZONE_KEY))) throw crossZoneOffRefusal(target.id);
    return { ...target, port };
  }
}

/** Throws ValidationError unless `arn` looks like a target group ARN. */
export function requireWellFormedArn(arn: string): void {
  if (parseTargetGroupArn(arn) === undefined) throw validationError(`'${arn}' is not a valid target group ARN`);
}

/** How targets are keyed inside a group (and in listener stats): `id:port`. */
export function targetKey(id: string, port: number): string {
  return `${id}:${port}`;
}

function isZoneOf(region: string, zone: string): boolean {
  return zone.length === region.length + 1 && zone.startsWith(region) && /[a-z]$/.test(zone);
}

function viewOf(group: GroupRecord): TargetGroupView {
  return { arn: group.arn, ...group.settings };
}

function healthCheckPortOf(group: GroupRecord, targetPort: number): string {
  const port = group.settings.healthCheck.port;
  return port === 'traffic-port' ? String(targetPort) : port;
}

function healthViewOf(group: GroupRecord, record: TargetRecord): TargetHealthView {
  return {
    id: record.id,
    port: record.port,
    ...(record.availabilityZone !== undefined ? { availabilityZone: record.availabilityZone } : {}),
    healthCheckPort: healthCheckPortOf(group, record.port),
    health: record.drainingUntil !== undefined ? DEREGISTRATION_IN_PROGRESS : record.health.status,
  };
}

function sortKey(group: GroupRecord): string {
  return `${group.settings.name}\u0000${group.arn}`;
}

function encodeMarker(key: string): string {
  return Buffer.from(JSON.stringify({ after: key }), 'utf8').toString('base64');
}

function decodeMarker(marker: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(marker, 'base64').toString('utf8'));
    if (decoded && typeof decoded === 'object' && 'after' in decoded && typeof decoded.after === 'string') return decoded.after;
  } catch {
    // fall through: any undecodable marker is refused the same way
  }
  throw validationError(`Invalid marker '${marker}'`);
}
