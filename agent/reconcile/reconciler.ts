/**
 * One reconcile pass: what should be (containers x address), what the groups hold (the view:
 * last read plus this host's own writes), the pure plan of the difference, the calls that
 * apply it, and the records of what this host owns. Reads happen only when a group's drift
 * repair is due, at a pace sized to the fleet; a change costs one call per group. Runs are
 * serialised by the loop; this class keeps the state between them.
 */
import type { AddressChoice, AddressSource } from '../core/address.ts';
import { shortTargetGroup } from '../core/arn.ts';
import { ECS_TASK_ARN_LABEL, type ContainerSnapshot, type ContainerSource } from '../core/container.ts';
import type { Cidr } from '../core/ipv4.ts';
import type { AgentState, OwnedTarget, StatePort } from '../core/state.ts';
import { StateKeeper } from './state-keeper.ts';
import { MAX_TARGETS_PER_CALL, NotSent, targetKey, type ActualTarget, type TargetRef, type TargetRegistry } from '../core/target-registry.ts';
import { OperationError } from '../errors.ts';
import { driftRepairIntervalMs, fleetChangeWindowMs, fleetReadWindowMs, gateReadIntervalMs, type ApiClass, type ApiLimits } from '../fleet/api-budget.ts';
import type { ApiPace } from '../fleet/api-pace.ts';
import { READ_JITTER, ReadSchedule } from '../fleet/read-schedule.ts';
import type { Log } from '../log.ts';
import { computeDesired, labelledGroups, tasksToAsk } from '../mapping/desired.ts';
import { gatherStarts } from './start-gathering.ts';
import type { TaskMetadata, TaskMetadataSource } from '../core/task-metadata.ts';
import type { MappingRule } from '../mapping/mapping-file.ts';
import type { DesiredEndpoint } from '../mapping/desired.ts';
import { GroupBackoff, isGroupLevel } from './group-backoff.ts';
import { GroupViews } from './group-view.ts';
import { keptAddresses, ownedAfter, ownedRecord, provableRecords, recordedKeys, type AppliedChanges } from './owned-targets.ts';
import { chunk, plan, type GroupPlan } from './plan.ts';
import type { GateAnswer, GateQuery } from '../core/gate.ts';
import { gateVerdict, identifyCaller } from './readiness.ts';
import { availabilityZoneFor, deregisterReason, deregistrationsAfter, groupsInPlay, isZoneRefusal, spreads, withoutHeld, zoneForHost, zonesForTargets } from './policy.ts';
import { trace } from '../trace.ts';

/** The zones remembered for groups that refused `all`, as read from the state (anything malformed is ignored). */
function rememberedZonesRecord(state: AgentState): Record<string, string> {
  const zones = state.groupZones;
  if (typeof zones !== 'object' || zones === null) return {};
  return Object.fromEntries(Object.entries(zones).filter(([, z]) => typeof z === 'string' && z !== 'all'));
}

/** What the state records as this host's VPN interface after this choice: set by a VPN address in auto mode, cleared by --host-ip or --interface. */
function vpnInterfaceAfter(recorded: unknown, choice: AddressChoice): string | undefined {
  if (choice.vpn === true && choice.interface !== undefined) return choice.interface;
  if (choice.vpn === undefined && choice.address !== undefined) return undefined;
  return typeof recorded === 'string' ? recorded : undefined;
}

const rememberedZones = (state: AgentState) => new Map(Object.entries(rememberedZonesRecord(state)));

/** The fleet this host is part of, which sizes its reads. */
export interface FleetOptions {
  readonly fleetSize: number;
  readonly limits: ApiLimits;
  /** Reads are never more frequent than this (--reconcile-interval). */
  readonly minReadIntervalMs: number;
}

export interface ReconcilerOptions {
  readonly containers: ContainerSource;
  /** Every call goes through this host's pace (fleet/paced-registry.ts). */
  readonly registry: TargetRegistry;
  readonly pace: ApiPace;
  readonly fleet: FleetOptions;
  readonly addresses: AddressSource;
  readonly store: StatePort;
  readonly log: Log;
  /** The mapping file's rules: fixed, or those in force now (a file reloaded when it changes). */
  readonly rules: readonly MappingRule[] | { current(): readonly MappingRule[] };
  /** Undefined: any group (--allow-any-target-group). */
  readonly allowedTargetGroups?: readonly string[];
  readonly includeNonEcs: boolean;
  /** Tasks' service tags (ecs-a.lbName, ecs-anywhere-lb.*); none: labels and the mapping file only. */
  readonly taskMetadata?: TaskMetadataSource;
  readonly vpcCidrs: readonly Cidr[];
  readonly availabilityZone: string;
  /** Identifies this host across restarts (/etc/machine-id): picks its zone in groups that refuse `all`. */
  readonly hostId?: string;
  /** Per-group retry backoff after transient errors. */
  readonly retry?: { baseMs: number; capMs: number };
  /** How long a group that can't be read for a permanent reason (TargetGroupNotFound, AccessDenied) is left alone; the reconcile interval. */
  readonly permanentRetryMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  /**
   * A read showed that a target this host deregistered has left its group: how long after the
   * DeregisterTargets call (an upper bound: the read came at most one read interval late).
   */
  readonly onDrained?: (targetGroupArn: string, ms: number) => void;
  /** Each attempt to write the state, and whether it worked (a full disk, a read-only directory). */
  readonly onStateWrite?: (ok: boolean) => void;
}

/** Passes that look at every container again rather than at what events told (drift repair of the container view). */
const RELIST_REASONS = new Set(['startup', 'periodic']);

/** Deregistrations whose end is still to be seen, at most: older ones are forgotten (the metric is a sample). */
const MAX_WATCHED_DRAINS = 10_000;

/** What one pass did. */
export interface PassResult {
  readonly registered: number;
  readonly deregistered: number;
  readonly failed: number;
  readonly ownedTargets: number;
  readonly address?: string;
  /** Groups whose changes wait for a backoff, the pace or a policy (start-gathering, a fleet wave): the pass is not complete. */
  readonly deferred?: number;
  /** Registrations not sent because their records could not be written first (a full disk): sent once the state can be written. */
  readonly heldForState?: number;
  /** Every change went through and no group is backing off. */
  readonly settled: boolean;
  /** Run again after this many ms: a backoff ends, the pace allows a deferred change, or a drift-repair read is due. */
  readonly nextPassInMs?: number;
  /** How often each group is re-read now. */
  readonly driftRepairIntervalMs?: number;
  /**
   * Resolves once the pass's own state write (after its calls, not waited for) has ended: with
   * when to try it again when it failed (a full disk), else undefined.
   */
  readonly written?: Promise<number | undefined>;
}

const show = (t: TargetRef) => `${t.id}:${t.port}`;

/** Reconciles this host's containers into their target groups. */
export class Reconciler {
  private readonly keeper: StateKeeper;
  /** Whether a recovered state's provable records were adopted (on the first pass). */
  private recoveryDone = false;
  /** Registrations held back while the state cannot be written (targetKey), each logged once. */
  private readonly heldForState = new Set<string>();
  private readonly groups: GroupBackoff;
  private readonly views = new GroupViews();
  /** Groups whose registrations wait for siblings still to start: since when (start-gathering.ts). */
  private gathering = new Map<string, number>();
  private readonly reads: ReadSchedule;
  /** Targets the API refused for a reason of their own (InvalidTarget, ...): not sent again before this time. */
  private readonly refused = new Map<string, number>();
  private reportedProblems = new Set<string>();
  private lastAddressNote: string | undefined;
  /** Whether the address source was told the state's VPN interface (once, at the first load). */
  private vpnTold = false;
  /** The last pass's containers, endpoints and address: what the readiness gate answers from. */
  private seen: { containers: readonly ContainerSnapshot[]; endpoints: readonly DesiredEndpoint[]; address?: string } = { containers: [], endpoints: [] };
  /** Gated containers found ready: they stay ready until they stop. */
  private readonly latched = new Set<string>();
  /** Groups with a pending gate: when to read them next (their health can have changed by then). */
  private readonly gateReads = new Map<string, number>();
  /** When this host last registered a gated target in a group. */
  private readonly gateRegistered = new Map<string, number>();
  /** Health check settings per group (DescribeTargetGroups, once), for the gate's read times. */
  private readonly healthChecks = new Map<string, { intervalMs: number; healthyThreshold: number }>();
  /** Targets this host deregistered (targetKey) and when: a read that no longer shows one measures its drain. */
  private readonly draining = new Map<string, number>();
  /** When this host sends its spread changes (moves, gated registrations): its moment in the fleet's window (undefined: none pending). */
  private waveAt: number | undefined;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? Date.now;
    this.groups = new GroupBackoff({ log: o.log, ...(o.retry ? { retry: o.retry } : {}), ...(o.permanentRetryMs !== undefined ? { permanentRetryMs: o.permanentRetryMs } : {}), now: this.now, ...(o.random ? { random: o.random } : {}) });
    this.random = o.random ?? Math.random;
    this.reads = new ReadSchedule({ now: this.now, random: this.random });
    this.keeper = new StateKeeper({
      store: o.store, log: o.log, retry: o.retry ?? { baseMs: 1000, capMs: 30_000 }, now: this.now, random: this.random, ...(o.onStateWrite ? { onWrite: o.onStateWrite } : {}),
    });
  }

  /** The state as last loaded or written (loads it on first use). */
  async currentState(): Promise<AgentState> {
    const state = await this.keeper.load();
    if (!this.vpnTold) {
      // Before the first address is chosen: a host that registers its VPN address waits for the VPN after a restart too.
      this.vpnTold = true;
      if (typeof state.vpnInterface === 'string') this.o.addresses.preferVpn?.(state.vpnInterface);
    }
    return state;
  }

  /** Resolves once every state write so far has ended (before the process exits). */
  flush(): Promise<void> {
    return this.keeper.flush();
  }

  /** The state write being retried (a full disk, a read-only directory), if any. */
  get stateWriteFailure(): { since: number; attempts: number; error: string } | undefined {
    return this.keeper.failing;
  }

  private get current(): AgentState {
    return this.keeper.current;
  }

  /**
   * After a saved state that could not be used: keeps the records still readable from it that
   * are on the current address (ours anyway; they name the groups and containers), drops the
   * rest, and says so once, as an error naming what was lost.
   */
  private adoptRecovery(address: string | undefined): void {
    if (this.recoveryDone) return;
    this.recoveryDone = true;
    if (this.o.store.notice !== undefined) this.o.log.warn(this.o.store.notice, { event: 'state-notice' });
    const r = this.o.store.recovery;
    if (r === undefined) return;
    const kept = provableRecords(r.salvaged, address);
    const lost = r.salvaged.filter((t) => !kept.includes(t));
    this.keeper.adopt(kept);
    const where = r.movedTo !== undefined ? `moved to ${r.movedTo}` : `left in place${r.moveProblem !== undefined ? ` (cannot move it aside: ${r.moveProblem})` : ''}`;
    const owned = address !== undefined ? `every target on its current address ${address}` : 'nothing until it has an address';
    const read = r.salvaged.length === 0 ? 'no target record could be read from it' : `${r.salvaged.length} target record(s) could be read from it: ${kept.length} on the current address kept`;
    const lostText = lost.length === 0 ? '' : `, ${lost.length} on other addresses no longer owned (${lost.slice(0, 10).map((t) => `${shortTargetGroup(t.targetGroupArn)} ${show(t)}`).join(', ')}${lost.length > 10 ? ', ...' : ''}): deregister those by hand if they are this host's`;
    this.o.log.error(`${r.problem}: ${where}; starting over with what this host can prove is its own, ${owned}; ${read}${lostText}`, {
      event: 'state-recovered', problem: r.problem, ...(r.movedTo !== undefined ? { movedTo: r.movedTo } : {}), salvaged: r.salvaged.length, kept: kept.length, lost: lost.length,
    });
  }

  /** Runs one pass. Throws only when the containers can't be listed or state can't be written. */
  async reconcile(reasons: readonly string[]): Promise<PassResult> {
    trace('pass', reasons.join(','));
    await this.currentState();
    const choice = await this.o.addresses.current();
    trace('address');
    this.noteAddress(choice.address, choice.interface, choice.problem);
    const address = choice.address;
    this.adoptRecovery(address);
    const state = this.current;
    const containers = await this.o.containers.list({ fresh: reasons.some((r) => RELIST_REASONS.has(r)) });
    trace('listed');
    const tasks = await this.tasksOf(containers);
    const rules = 'current' in this.o.rules ? this.o.rules.current() : this.o.rules;
    const desired = computeDesired({
      containers,
      tasks,
      rules,
      ...(this.o.allowedTargetGroups ? { allowedTargetGroups: new Set(this.o.allowedTargetGroups) } : {}),
      includeNonEcs: this.o.includeNonEcs,
      ...(address !== undefined ? { hostAddress: address } : {}),
    });
    trace('desired');
    this.reportProblems(desired.problems);
    this.seen = { containers, endpoints: desired.endpoints, ...(address !== undefined ? { address } : {}) };
    for (const id of this.latched) if (!containers.some((c) => c.id === id && c.running && !c.stopping)) this.latched.delete(id);

    // Own the address before registering anything on it: a lost response can't leak a target.
    // (A failed write is no reason to stop: a registration records its address again, first.)
    const vpnInterface = vpnInterfaceAfter(state.vpnInterface, choice);
    if ((address !== undefined && !state.addresses.includes(address)) || vpnInterface !== state.vpnInterface) {
      const { vpnInterface: _old, ...rest } = state;
      // Written behind: the registration's own record names its address, and is written first.
      this.keeper.updateLater({ ...rest, addresses: address !== undefined && !state.addresses.includes(address) ? [...state.addresses, address] : state.addresses, ...(vpnInterface !== undefined ? { vpnInterface } : {}) });
    }
    // Ours: anything on the current address; on earlier addresses only what we recorded.
    const owned = new Set(address !== undefined ? [address] : []);

    for (const [k, until] of this.refused) if (until <= this.now()) this.refused.delete(k);
    // ELBv2's longest deregistration delay is an hour: a target still "draining" after two is not one to measure.
    for (const [k, at] of this.draining) if (this.now() - at > 2 * 3_600_000) this.draining.delete(k);
    const groups = groupsInPlay(this.o.allowedTargetGroups, desired.endpoints, this.current.targets);
    const shape = { fleetSize: this.o.fleet.fleetSize, groups: groups.length, limits: this.o.fleet.limits };
    const intervalMs = driftRepairIntervalMs(shape, this.o.fleet.minReadIntervalMs);
    // A group this host left is still read until its last deregistered target is seen gone (the drain metric).
    const watched = [...new Set([...this.draining.keys()].map((k) => k.slice(0, k.indexOf('|'))))].filter((g) => !groups.includes(g));
    const readWait = await this.readDue([...groups, ...watched], fleetReadWindowMs(shape), intervalMs);

    trace('read');
    const actual = new Map(groups.map((g) => [g, this.views.view(g, this.current.targets)]));
    const availabilityZone = availabilityZoneFor(address, this.o.vpcCidrs, this.o.availabilityZone);
    const planned = plan({
      endpoints: desired.endpoints, actual, ownedAddresses: owned, ownedTargets: recordedKeys(this.current),
      ...(address !== undefined ? { address } : {}), ...(availabilityZone !== undefined ? { availabilityZone } : {}),
      // --availability-zone set to a zone wins; with the default `all`, groups that refused it take the zone chosen for them.
      ...(this.o.availabilityZone === 'all' ? { groupZones: rememberedZones(this.current) } : {}),
    });
    const spread = this.spreadWaves(planned);
    const gathered = gatherStarts({ now: this.now(), plans: spread.plans, pendingGroups: this.pendingGroups(groups, rules), since: this.gathering });
    this.gathering = gathered.since;
    const plans = gathered.plans;

    let registered = 0;
    let deregistered = 0;
    let failed = 0;
    const waits: number[] = [...(readWait !== undefined ? [readWait] : []), ...(spread.waveWaitMs !== undefined ? [spread.waveWaitMs] : []), ...(gathered.waitMs !== undefined ? [gathered.waitMs] : [])];
    let deferred = new Set(gathered.held.map((h) => h.targetGroupArn)).size;
    let heldForState = 0;
    const applied = new Map<string, AppliedChanges>();
    trace('planned');
    // Every group's calls at once: a group's stop never waits behind another group's call (at most one call per group in flight).
    const outcomes = await Promise.all(plans.map((p) => this.apply(p, containers, reasons)));
    for (const [i, p] of plans.entries()) {
      const outcome = outcomes[i]!;
      registered += outcome.added.length;
      deregistered += outcome.removed.size;
      failed += outcome.failed;
      heldForState += outcome.heldForState;
      if (outcome.waitMs !== undefined) {
        waits.push(outcome.waitMs);
        deferred++;
      }
      applied.set(p.targetGroupArn, outcome);
    }

    // Against the views as the writes left them: a registration without a usable answer is still there, as maybe ours.
    const after = new Map(groups.map((g) => [g, this.views.view(g, this.current.targets)]));
    const targets = ownedAfter(this.current.targets, after, applied, owned, desired.endpoints);
    const addresses = keptAddresses(this.current.addresses, address, targets);
    // After the calls, and behind: the next pass (a stop that came during these calls) does not wait for it.
    const written = this.keeper.update({ ...this.current, addresses, targets });
    if (heldForState === 0) this.heldForState.clear();
    const stateRetry = this.keeper.retryInMs();
    if (stateRetry !== undefined) waits.push(stateRetry);
    const retry = this.groups.retryHint().retryInMs;
    await this.scheduleGateReads(groups);
    // A read that is due but waits for the Describe pace wakes the loop when the pace allows it, not at once.
    const readFloor = readWait ?? 0;
    const gateRead = [...this.gateReads].filter(([arn]) => !this.groups.isWaiting(arn)).map(([, at]) => Math.max(readFloor, at - this.now()));
    // A group backing off is woken by its backoff, not by its overdue read.
    const dueIn = this.reads.nextInMs([...groups, ...watched].filter((g) => !this.groups.isWaiting(g)));
    const nextRead = dueIn !== undefined ? Math.max(readFloor, dueIn) : undefined;
    const next = [...waits, ...gateRead, ...(retry !== undefined ? [retry] : []), ...(nextRead !== undefined ? [nextRead] : [])];
    return {
      registered,
      deregistered,
      failed,
      ownedTargets: targets.length,
      ...(address !== undefined ? { address } : {}),
      ...(deferred > 0 ? { deferred } : {}),
      ...(heldForState > 0 ? { heldForState } : {}),
      settled: failed === 0 && deferred === 0 && heldForState === 0 && stateRetry === undefined && retry === undefined,
      ...(next.length > 0 ? { nextPassInMs: Math.min(...next) } : {}),
      driftRepairIntervalMs: intervalMs,
      written: written.then(() => this.keeper.retryInMs()),
    };
  }

  /** The groups in play for which Docker created containers that have not started yet (their registrations are coming). */
  private pendingGroups(groups: readonly string[], rules: readonly MappingRule[]): Set<string> {
    const ours = new Set(groups);
    const pending = this.o.containers.activity?.().pendingStarts ?? [];
    return new Set(pending.flatMap((p) => [...labelledGroups(p.labels, rules)].filter((g) => ours.has(g))));
  }

  /** What the task metadata endpoint tells about the tasks whose tags can matter (once per task: the source keeps it). */
  private async tasksOf(containers: readonly ContainerSnapshot[]): Promise<Map<string, TaskMetadata>> {
    const source = this.o.taskMetadata;
    const out = new Map<string, TaskMetadata>();
    if (!source) return out;
    source.retain(new Set(containers.flatMap((c) => (c.labels[ECS_TASK_ARN_LABEL] !== undefined ? [c.labels[ECS_TASK_ARN_LABEL]] : []))));
    await Promise.all(
      [...tasksToAsk(containers, this.o.includeNonEcs)].map(async ([taskArn, id]) => {
        const task = await source.task(taskArn, id);
        if (task) out.set(taskArn, task);
      }),
    );
    return out;
  }

  /**
   * Changes that are most likely fleet-wide and that nothing waits for at once are spread
   * (see `spreads` in policy.ts: gated registrations, and moves to a new address while this
   * host's pace shows throttling). This host draws its moment in the window the account needs
   * for every host's share of such calls and holds them until then. Other new targets and
   * stopped containers go at once.
   */
  private spreadWaves(planned: GroupPlan[]): { plans: GroupPlan[]; waveWaitMs?: number } {
    const pressed = this.o.pace.rates().change < this.o.fleet.limits.change.perSecond;
    const spread = (r: GroupPlan['register'][number]) => spreads(r, pressed);
    const waving = planned.filter((p) => p.register.some(spread));
    if (waving.length === 0) {
      this.waveAt = undefined;
      return { plans: planned };
    }
    if (this.waveAt === undefined) {
      const windowMs = fleetChangeWindowMs(this.o.fleet.fleetSize, 2 * waving.length, this.o.fleet.limits);
      this.waveAt = this.now() + Math.floor(this.random() * windowMs);
      const n = waving.reduce((sum, p) => sum + p.register.filter(spread).length, 0);
      this.o.log.info(`registering ${n} moved or gated target(s) in ${this.waveAt - this.now()} ms (this host's moment in the fleet's ${windowMs} ms window)`, {
        event: 'wave-scheduled', targets: n, inMs: this.waveAt - this.now(), windowMs,
      });
    }
    const waitMs = this.waveAt - this.now();
    if (waitMs <= 0) return { plans: planned };
    const held = planned.map((p) => {
      const ports = new Set(p.register.filter(spread).map((r) => r.target.port));
      return withoutHeld(p, (t) => ports.has(t.port));
    });
    return { plans: held.filter((p) => p.register.length > 0 || p.deregister.length > 0), waveWaitMs: waitMs };
  }

  /**
   * Reads the groups whose drift repair is due, within the Describe pace and their backoff.
   * Returns how long until the pace allows the next read, when one had to wait.
   */
  private async readDue(groups: readonly string[], firstWindowMs: number, intervalMs: number): Promise<number | undefined> {
    const gates = [...this.gateReads].filter(([arn, at]) => at <= this.now() && groups.includes(arn)).map(([arn]) => arn);
    const drift = this.reads.due(groups, firstWindowMs).filter((arn) => !gates.includes(arn));
    for (const arn of [...gates, ...drift]) {
      if (this.groups.isWaiting(arn)) continue;
      const wait = this.o.pace.delayMs('describe');
      if (wait > 0) return wait;
      if (!(await this.read(arn, gates.includes(arn) ? 'readiness-gate' : 'drift-repair'))) continue;
      // Any read repairs drift too: the next drift-repair read is one interval after it.
      this.reads.read(arn, intervalMs);
      this.gateReads.delete(arn);
    }
    return undefined;
  }

  private noteDrained(arn: string, targets: readonly ActualTarget[]): void {
    const present = new Set(targets.map((t) => targetKey(arn, t.id, t.port)));
    for (const [k, at] of this.draining) {
      if (!k.startsWith(`${arn}|`) || present.has(k)) continue;
      this.draining.delete(k);
      this.o.onDrained?.(arn, this.now() - at);
    }
  }

  /**
   * Answers the readiness gate for the container a request comes from: ready once every one
   * of its targets is healthy in every group (then latched until it stops). Bounded: it looks
   * at the last pass's data only, never calls anything.
   */
  readiness(q: GateQuery): GateAnswer {
    const container = identifyCaller(this.seen.containers, q);
    const answer = gateVerdict({
      container,
      endpoints: container ? this.seen.endpoints.filter((e) => e.containerId === container.id) : [],
      view: (arn) => this.views.view(arn, this.current.targets),
      address: this.seen.address,
      latched: container !== undefined && this.latched.has(container.id),
    });
    if (answer.ready && container && !this.latched.has(container.id)) {
      this.latched.add(container.id);
      this.o.log.info(`readiness gate open for ${container.name}`, { event: 'gate-open', container: container.name, containerId: container.id.slice(0, 12) });
    }
    return answer;
  }

  /**
   * Schedules reads of the groups in which a gated container waits for a healthy target: first
   * when its health can have turned (the group's interval x healthy threshold after the
   * registration), then every interval. They come out of the same Describe pace as the rest.
   */
  private async scheduleGateReads(groups: readonly string[]): Promise<void> {
    const pending = new Set<string>();
    for (const e of this.seen.endpoints) {
      if (!e.gated || this.latched.has(e.containerId) || this.seen.address === undefined) continue;
      const t = this.views.view(e.targetGroupArn, this.current.targets).find((x) => x.id === this.seen.address && x.port === e.port);
      if (t?.state !== 'healthy') pending.add(e.targetGroupArn);
    }
    for (const arn of groups) {
      if (!pending.has(arn)) {
        this.gateReads.delete(arn);
        continue;
      }
      if (this.gateReads.has(arn)) continue;
      const hc = await this.healthCheckOf(arn);
      const firstHealthy = (this.gateRegistered.get(arn) ?? 0) + hc.intervalMs * hc.healthyThreshold;
      // No more often than the group's checks can change it, nor than the fleet's share of the Describe budget allows.
      const every = Math.max(hc.intervalMs, gateReadIntervalMs(this.o.fleet.fleetSize, this.o.fleet.limits));
      const jittered = Math.round(every * (1 - READ_JITTER + 2 * READ_JITTER * this.random()));
      this.gateReads.set(arn, firstHealthy > this.now() ? firstHealthy : this.now() + jittered);
    }
  }

  /** The group's health check interval and healthy threshold (ALB's defaults, 30 s x 5, until DescribeTargetGroups answered). */
  private async healthCheckOf(arn: string): Promise<{ intervalMs: number; healthyThreshold: number }> {
    const known = this.healthChecks.get(arn);
    if (known) return known;
    let found = { intervalMs: 30_000, healthyThreshold: 5 };
    if (this.o.pace.delayMs('describe') === 0) {
      try {
        const g = await this.o.registry.describeGroup(arn);
        found = { intervalMs: (g.healthCheckIntervalSeconds ?? 30) * 1000, healthyThreshold: g.healthyThresholdCount ?? 5 };
        this.healthChecks.set(arn, found);
      } catch (err) {
        this.o.log.debug(`cannot read the health check settings of ${shortTargetGroup(arn)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return found;
  }

  /** Reads one group into its view; false when the read failed (the backoff says when to try again). */
  private async read(arn: string, why: string): Promise<boolean> {
    try {
      const targets = await this.o.registry.describeTargets(arn);
      this.views.read(arn, targets);
      this.noteDrained(arn, targets);
      this.groups.succeeded(arn, 'describe');
      this.groups.recovered(arn);
      this.o.log.debug(`read ${shortTargetGroup(arn)}: ${targets.length} target(s)`, { event: 'read', targetGroupArn: arn, targets: targets.length, reason: why });
      return true;
    } catch (err) {
      this.groups.failed(arn, err, 'describing targets', 'describe');
      return false;
    }
  }

  /**
   * Deregisters every target this host owns (current and recorded addresses) in every
   * group in play, e.g. when the host shuts down. Groups this process never read are read
   * first (within the pace), so a target on the current address that was not recorded goes too.
   */
  async deregisterAll(reason: string): Promise<{ deregistered: OwnedTarget[]; failed: number }> {
    await this.currentState();
    const choice = await this.o.addresses.current();
    // `deregister --all` on a damaged state: the same recovery as a pass, said once.
    this.adoptRecovery(choice.address);
    const state = this.current;
    const owned = new Set(choice.address !== undefined ? [choice.address] : []);
    const groups = groupsInPlay(this.o.allowedTargetGroups, [], state.targets);
    this.groups.clear();
    const actual = new Map<string, ActualTarget[]>();
    let failed = 0;
    for (const arn of groups) {
      if (!this.views.wasRead(arn) && !(await this.read(arn, reason))) {
        failed++;
        continue;
      }
      actual.set(arn, this.views.view(arn, state.targets));
    }
    const deregistered: OwnedTarget[] = [];
    const applied = new Map<string, AppliedChanges>();
    for (const p of plan({ endpoints: [], actual, ownedAddresses: owned, ownedTargets: recordedKeys(state) })) {
      const outcome = await this.apply(p, [], [], reason, true);
      failed += outcome.failed;
      applied.set(p.targetGroupArn, outcome);
      for (const d of p.deregister) {
        if (outcome.removed.has(targetKey(p.targetGroupArn, d.target.id, d.target.port))) deregistered.push({ targetGroupArn: p.targetGroupArn, ...d.target });
      }
    }
    const targets = ownedAfter(state.targets, actual, applied, owned, []);
    await this.keeper.update({ ...this.current, targets });
    return { deregistered, failed };
  }

  /** Waits until the given targets have left their groups (draining done), or the timeout passes. Returns those still there. */
  async waitForDrain(targets: readonly OwnedTarget[], timeoutMs: number, pollMs = 1000): Promise<OwnedTarget[]> {
    const deadline = this.now() + timeoutMs;
    let remaining = [...targets];
    while (remaining.length > 0) {
      const groups = [...new Set(remaining.map((t) => t.targetGroupArn))];
      const still = new Set<string>();
      await Promise.all(
        groups.map(async (arn) => {
          try {
            const targets = await this.o.registry.describeTargets(arn);
            this.noteDrained(arn, targets);
            for (const t of targets) still.add(targetKey(arn, t.id, t.port));
          } catch {
            remaining.filter((t) => t.targetGroupArn === arn).forEach((t) => still.add(targetKey(arn, t.id, t.port)));
          }
        }),
      );
      remaining = remaining.filter((t) => still.has(targetKey(t.targetGroupArn, t.id, t.port)));
      if (remaining.length === 0 || this.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - this.now()))));
    }
    return remaining;
  }

  /**
   * Applies one group's plan: registrations first (recorded before the call), then the
   * deregistrations make-before-break allows. A group waiting out a backoff, or whose calls
   * the pace does not allow yet, is deferred (`waitMs`) and planned again on a later pass.
   */
  private async apply(planned: GroupPlan, containers: readonly ContainerSnapshot[], reasons: readonly string[], why?: string, regardless = false) {
    const arn = planned.targetGroupArn;
    if (!regardless) {
      // Deferred before anything is recorded: a pass that sends nothing writes nothing.
      const wait = this.groups.waitMs(arn) ?? (this.o.pace.delayMs('change') || undefined);
      if (wait !== undefined) return { added: [], removed: new Set<string>(), failed: 0, heldForState: 0, waitMs: wait };
    }
    const p = withoutHeld(planned, (t) => (this.refused.get(targetKey(arn, t.id, t.port)) ?? 0) > this.now());
    const tg = shortTargetGroup(arn);
    const would = this.o.registry.simulated === true;
    const added: OwnedTarget[] = [];
    const removed = new Set<string>();
    let failed = 0;
    let heldForState = 0;
    let waitMs: number | undefined;
    const byId = new Map(containers.map((c) => [c.id, c]));
    const previous = new Map(this.current.targets.map((t) => [targetKey(t.targetGroupArn, t.id, t.port), t]));
    const send = async (action: string, targets: TargetRef[], call: (batch: TargetRef[]) => Promise<void>) => {
      const out = await this.send(action, arn, targets, call, regardless);
      if (out.waitMs !== undefined) waitMs = Math.min(waitMs ?? Infinity, out.waitMs);
      return out;
    };

    const records = p.register.map(({ target, endpoint }) => ownedRecord(arn, target, endpoint));
    // Record before calling: if the process dies mid-call, the next run still knows these are ours. Where the registry
    // can hold a prepared request until then, the request is serialised and signed while the records are written, and
    // leaves this host only once they are on disk; otherwise the call waits for them.
    // A record that cannot be written (a full disk) is not registered: the next pass after the write's backoff tries again.
    const noted = { targets: records, addresses: [...new Set(records.map((r) => r.id))].filter((a) => !this.current.addresses.includes(a)) };
    if (records.length > 0) trace('note');
    const recorded = records.length > 0 ? this.keeper.recordFirst(noted).then((ok) => (trace('noted'), ok)) : Promise.resolve(true);
    const ahead = this.o.registry.sendsAfter === true;
    const written = recorded.then((ok) => {
      if (!ok) throw new NotSent(`the records of ${tg} ${records.map(show).join(' ')} cannot be written to ${this.o.store.path}`);
    });
    // Observed here too when the call is not made (the group waits for its backoff or the pace): never an unhandled rejection.
    written.catch(() => undefined);
    const pending = p.register.length > 0 && ahead ? send('RegisterTargets', p.register.map((r) => r.target), (batch) => this.o.registry.register(arn, batch, written)) : undefined;
    if (!(await recorded)) {
      await pending;
      heldForState = records.length;
      for (const r of records) {
        const k = targetKey(arn, r.id, r.port);
        if (this.heldForState.has(k)) continue;
        this.heldForState.add(k);
        this.o.log.warn(`not registering ${tg} ${show(r)} yet: its record cannot be written to ${this.o.store.path} (${this.keeper.failing?.error ?? 'write failed'})`, {
          event: 'registration-held', targetGroupArn: arn, target: show(r), container: r.containerName, reason: 'state-write-failed',
        });
      }
    } else if (p.register.length > 0) {
      const { ok, unknown } = await (pending ?? send('RegisterTargets', p.register.map((r) => r.target), (batch) => this.o.registry.register(arn, batch)));
      // No usable answer: the target may be in the group, so its record stays and a later pass decides.
      this.views.outcomeUnknown(arn, unknown);
      for (const { target, endpoint } of p.register) {
        const k = targetKey(arn, target.id, target.port);
        if (!ok.has(k)) {
          if (waitMs === undefined) failed++;
          continue;
        }
        added.push(ownedRecord(arn, target, endpoint));
        this.draining.delete(k);
        this.o.log.info(`${would ? 'would register' : 'registered'} ${tg} ${show(target)}`, {
          event: 'registered', targetGroupArn: arn, target: show(target), ...(target.availabilityZone ? { availabilityZone: target.availabilityZone } : {}),
          container: endpoint.containerName, containerId: endpoint.containerId.slice(0, 12), ...(endpoint.taskArn ? { taskArn: endpoint.taskArn } : {}),
          reason: previous.has(k) ? 'drift-repair' : reasons.join(','),
        });
      }
      this.views.registered(arn, added);
      if (p.register.some((r) => r.endpoint.gated && ok.has(targetKey(arn, r.target.id, r.target.port)))) {
        this.gateRegistered.set(arn, this.now());
        this.gateReads.delete(arn);
      }
    }

    const deregister = deregistrationsAfter(p, (t) => added.some((a) => a.id === t.id && a.port === t.port));
    if (deregister.length > 0) {
      const { ok } = await send('DeregisterTargets', deregister.map((d) => d.target), (batch) => this.o.registry.deregister(arn, batch));
      for (const { target, why: planned } of deregister) {
        const k = targetKey(arn, target.id, target.port);
        if (!ok.has(k)) {
          if (waitMs === undefined) failed++;
          continue;
        }
        removed.add(k);
        if (this.draining.size < MAX_WATCHED_DRAINS) this.draining.set(k, this.now());
        const record = previous.get(k);
        const container = record?.containerId ? byId.get(record.containerId) : undefined;
        this.o.log.info(`${would ? 'would deregister' : 'deregistered'} ${tg} ${show(target)}`, {
          event: 'deregistered', targetGroupArn: arn, target: show(target),
          ...(record?.containerName ? { container: record.containerName } : {}), ...(record?.containerId ? { containerId: record.containerId.slice(0, 12) } : {}),
          ...(record?.taskArn ? { taskArn: record.taskArn } : {}), reason: why ?? deregisterReason(planned, container),
        });
      }
      this.views.deregistered(arn, deregister.filter((d) => ok.has(targetKey(arn, d.target.id, d.target.port))).map((d) => d.target));
    }
    if (failed === 0 && waitMs === undefined) this.groups.recovered(arn);
    return { added, removed, failed, heldForState, ...(waitMs !== undefined ? { waitMs } : {}) };
  }

  /**
   * Sends targets in calls of at most 200. A call refused for one bad target (InvalidTarget)
   * is split so the good ones still go through. A call the group's backoff or this host's
   * pace does not allow now is not sent: `waitMs` says when it could be. `regardless` (shutdown)
   * waits for the pace instead.
   */
  private async send(action: string, arn: string, targets: readonly TargetRef[], call: (batch: TargetRef[]) => Promise<void>, regardless: boolean): Promise<{ ok: Set<string>; unknown: TargetRef[]; waitMs?: number }> {
    const ok = new Set<string>();
    const unknown: TargetRef[] = [];
    const cls: ApiClass = 'change';
    let waitMs: number | undefined;
    const attempt = async (batch: TargetRef[]): Promise<void> => {
      if (waitMs !== undefined) return;
      if (this.groups.isWaiting(arn)) {
        waitMs = this.groups.retryHint().retryInMs ?? 0;
        return;
      }
      const paceWait = this.o.pace.delayMs(cls);
      if (paceWait > 0 && !regardless) {
        waitMs = paceWait;
        return;
      }
      try {
        trace('call', action);
        await call(batch);
        batch.forEach((t) => ok.add(targetKey(arn, t.id, t.port)));
        this.groups.succeeded(arn, action);
      } catch (err) {
        // Its records could not be written first: nothing was sent, and the caller holds the registration.
        if (err instanceof NotSent) return;
        if (action === 'RegisterTargets' && isZoneRefusal(err) && batch.some((t) => t.availabilityZone === 'all') && (await this.takeRealZone(arn))) {
          // Not a failure: planned again at once, with the group's zone.
          waitMs = 0;
          return;
        }
        if (err instanceof OperationError && err.code === 'InvalidTarget' && batch.length > 1) {
          for (const one of batch) await attempt([one]);
          return;
        }
        const kind = err instanceof OperationError ? err.kind : 'transient';
        if (kind === 'transient') unknown.push(...batch);
        // One target refused for a reason of its own is not sent again before the next periodic run.
        if (kind === 'permanent' && batch.length === 1 && !isGroupLevel(err)) this.refused.set(targetKey(arn, batch[0]!.id, batch[0]!.port), this.now() + (this.o.permanentRetryMs ?? 60_000));
        this.groups.failed(arn, err, `${action} ${batch.map(show).join(' ')}`, action);
      }
    };
    for (const batch of chunk(targets, MAX_TARGETS_PER_CALL)) await attempt(batch);
    return { ok, unknown, ...(waitMs !== undefined ? { waitMs } : {}) };
  }

  /**
   * A group refused `AvailabilityZone: all` (cross-zone load balancing off): picks a real zone
   * for this host among its load balancers' zones (the same one on every run: a hash of the
   * host id) and remembers it in the state. False when none can be found (the refusal then
   * counts as the group's failure, and its log line says to set --availability-zone).
   */
  private async takeRealZone(arn: string): Promise<boolean> {
    const tg = shortTargetGroup(arn);
    try {
      const info = await this.o.registry.describeGroup(arn);
      const lbs = info.loadBalancerArns !== undefined && info.loadBalancerArns.length > 0 ? ((await this.o.registry.loadBalancerZones?.(info.loadBalancerArns)) ?? []) : [];
      const zones = zonesForTargets(lbs);
      const zone = zoneForHost(zones, this.o.hostId ?? '');
      if (zone === undefined) {
        this.o.log.error(`${tg} refuses AvailabilityZone=all (cross-zone load balancing is off) and no load balancer of it names a zone: set --availability-zone to a zone of its VPC`, { event: 'zone-unknown', targetGroupArn: arn });
        return false;
      }
      await this.keeper.update({ ...this.current, groupZones: { ...rememberedZonesRecord(this.current), [arn]: zone } });
      this.o.log.info(`${tg} refuses AvailabilityZone=all (cross-zone load balancing is off): registering this host in ${zone}, its zone among the load balancers' ${zones.join(', ')}`, {
        event: 'zone-chosen', targetGroupArn: arn, availabilityZone: zone, zones,
      });
      return true;
    } catch (err) {
      this.o.log.warn(`${tg} refuses AvailabilityZone=all and its load balancers' zones cannot be read (${err instanceof Error ? err.message : String(err)}): the instance role needs elasticloadbalancing:DescribeTargetGroups and DescribeLoadBalancers, or set --availability-zone`, {
        event: 'zone-unknown', targetGroupArn: arn,
      });
      return false;
    }
  }

  private reportProblems(problems: readonly { containerId: string; containerName: string; source: string; message: string }[]): void {
    const current = new Set<string>();
    for (const p of problems) {
      const k = `${p.containerId}|${p.source}|${p.message}`;
      current.add(k);
      if (this.reportedProblems.has(k)) continue;
      this.o.log.warn(`skipping ${p.containerName} ${p.source}: ${p.message}`, {
        event: 'skipped', container: p.containerName, containerId: p.containerId.slice(0, 12), label: p.source, problem: p.message,
      });
    }
    this.reportedProblems = current;
  }

  private noteAddress(address: string | undefined, iface: string | undefined, problem: string | undefined): void {
    const note = address !== undefined ? `address ${address}${iface ? ` on ${iface}` : ''}` : `no usable address: ${problem ?? 'unknown'}`;
    if (note === this.lastAddressNote) return;
    const first = this.lastAddressNote === undefined;
    this.lastAddressNote = note;
    if (address !== undefined) this.o.log.info(first ? `using ${note}` : `host address changed: using ${note}`, { event: 'address', address, ...(iface ? { interface: iface } : {}) });
    else this.o.log.warn(`${note}; registering nothing until one appears`, { event: 'address', problem });
  }
}
