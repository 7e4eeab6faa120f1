/**
 * One reconcile pass, as a list of calls to its collaborators, one step each: the state, the
 * address, what should be (pass-inputs.ts: the source's containers x address, mapping/desired.ts),
 * the gate's view (readiness-tracker.ts), the reads due (group-reader.ts), the
 * pure plan of the difference (plan.ts), the policies that hold some of it for now
 * (change-policies.ts), the writes (target-writer.ts) and the records of what this host owns
 * (state-keeper.ts, owned-targets.ts). Runs are serialised by the loop (loop.ts); the
 * collaborators keep what lasts between them.
 */
import type { GateAnswer, GateQuery } from '../core/gate.ts';
import type { AgentState, OwnedTarget } from '../core/state.ts';
import { targetKey } from '../core/target-registry.ts';
import { readBudget } from '../fleet/api-budget.ts';
import { NO_TRACE, type Tracer } from '../trace.ts';
import { applyPolicies } from './change-policies.ts';
import { GroupBackoff } from './group-backoff.ts';
import { GroupReader } from './group-reader.ts';
import { keptAddresses, ownedAfter, recordedKeys, type AppliedChanges } from './owned-targets.ts';
import { adoptRecovery, PassInputs } from './pass-inputs.ts';
import { plan, type GroupPlan } from './plan.ts';
import { availabilityZoneFor, groupsInPlay } from './policy.ts';
import { ReadinessTracker } from './readiness-tracker.ts';
import { StateKeeper } from './state-keeper.ts';
import { TargetWriter } from './target-writer.ts';
import { rememberedZones, ZoneChooser } from './zone-chooser.ts';
import type { PassResult, ReconcilerOptions } from './reconciler-options.ts';

export type { FleetOptions, PassResult, ReconcilerOptions } from './reconciler-options.ts';

/** Passes that look at every container again rather than at what events told (drift repair of the container view). */
const RELIST_REASONS = new Set(['startup', 'periodic']);

/** Reconciles this host's containers into their target groups. */
export class Reconciler {
  private readonly keeper: StateKeeper;
  private readonly backoff: GroupBackoff;
  private readonly reader: GroupReader;
  private readonly tracker: ReadinessTracker;
  private readonly writer: TargetWriter;
  private readonly inputs: PassInputs;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly tracer: Tracer;
  /** Groups whose registrations wait for siblings about to start: since when (start-gathering.ts). */
  private gathering = new Map<string, number>();
  /** This host's moment in the fleet's change window, while a wave is pending. */
  private waveAt: number | undefined;
  /** Whether a recovered state's provable records were adopted (on the first pass). */
  private recoveryDone = false;
  /** Whether the address source was told the state's VPN interface (once, at the first load). */
  private vpnTold = false;

  constructor(private readonly options: ReconcilerOptions) {
    const { registry, pace, log, store, fleet } = options;
    const now = (this.now = options.now ?? Date.now);
    const random = (this.random = options.random ?? Math.random);
    this.tracer = options.tracer ?? NO_TRACE;
    this.backoff = new GroupBackoff({ log, retry: options.retry, permanentRetryMs: options.permanentRetryMs, now, random });
    this.keeper = new StateKeeper({ store, log, retry: options.retry, now, random, ...(options.onStateWrite ? { onWrite: options.onStateWrite } : {}) });
    this.reader = new GroupReader({ registry, pace, backoff: this.backoff, log, now, random, ...(options.onDrained ? { onDrained: options.onDrained } : {}) });
    this.tracker = new ReadinessTracker({ registry, pace, log, fleetSize: fleet.fleetSize, limits: fleet.limits, now, random });
    const zones = new ZoneChooser({ registry, keeper: this.keeper, log, ...(options.hostId !== undefined ? { hostId: options.hostId } : {}) });
    this.writer = new TargetWriter({
      registry, pace, backoff: this.backoff, keeper: this.keeper, store, reader: this.reader, zones, log, tracer: this.tracer, now,
      refusedForMs: options.permanentRetryMs, onGatedRegistered: (arn) => this.tracker.gatedRegistered(arn),
    });
    this.inputs = new PassInputs({
      containers: options.containers, log, tracer: this.tracer, includeNonEcs: options.includeNonEcs, ...(options.taskMetadata ? { taskMetadata: options.taskMetadata } : {}),
      ...(options.allowedTargetGroups ? { allowedTargetGroups: options.allowedTargetGroups } : {}), ...(options.hostPortRange ? { hostPortRange: options.hostPortRange } : {}),
    });
  }

  /** The state as last loaded or written (loads it on first use). */
  async currentState(): Promise<AgentState> {
    const state = await this.keeper.load();
    if (!this.vpnTold) {
      // Before the first address is chosen: a host that registers its VPN address waits for the VPN after a restart too.
      this.vpnTold = true;
      if (typeof state.vpnInterface === 'string') this.options.addresses.preferVpn?.(state.vpnInterface);
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

  /** Answers the readiness gate from the last pass's data (readiness-tracker.ts). */
  readiness(q: GateQuery): GateAnswer {
    return this.tracker.answer(q, (arn) => this.reader.view(arn, this.keeper.current.targets));
  }

  /** Waits until the given targets have left their groups (draining done), or the timeout passes. Returns those still there. */
  waitForDrain(targets: readonly OwnedTarget[], timeoutMs: number, pollMs = 1000): Promise<OwnedTarget[]> {
    return this.reader.waitForDrain(targets, timeoutMs, pollMs);
  }

  /** Runs one pass. Throws only when the containers can't be listed or state can't be written. */
  async reconcile(reasons: readonly string[]): Promise<PassResult> {
    const { options, tracer } = this;
    tracer.step('pass', reasons.join(','));
    // The state as planned from, read once: nothing but this pass changes it before the writes.
    let state = await this.currentState();
    const choice = await options.addresses.current();
    tracer.step('address');
    const address = choice.address;
    state = this.recoverOnce(address) ?? state;
    const rules = 'current' in options.rules ? options.rules.current() : options.rules;
    const { containers, desired, owning, pendingGroups } = await this.inputs.gather({ choice, state, rules, fresh: reasons.some((r) => RELIST_REASONS.has(r)) });
    tracer.step('desired');
    const gateDue = this.tracker.saw(containers, desired.endpoints, address);
    // Own the address before registering anything on it (written behind: a registration's own record names its address, first).
    if (owning) this.keeper.updateLater((state = owning));
    // Ours: anything on the current address; on earlier addresses only what we recorded.
    const owned = new Set(address !== undefined ? [address] : []);

    const groups = groupsInPlay(options.allowedTargetGroups, desired.endpoints, state.targets);
    const availabilityZone = availabilityZoneFor(address, options.vpcCidrs, options.availabilityZone);
    const budget = readBudget({ fleetSize: options.fleet.fleetSize, groups: groups.length, limits: options.fleet.limits }, options.fleet.minReadIntervalMs);
    const reads = await this.reader.readDue(groups, gateDue, budget, state.targets);
    for (const arn of reads.read) this.tracker.wasRead(arn);
    tracer.step('read');

    const planned = plan({
      endpoints: desired.endpoints, actual: reads.actual, ownedAddresses: owned, ownedTargets: recordedKeys(state),
      ...(address !== undefined ? { address } : {}), ...(availabilityZone !== undefined ? { availabilityZone } : {}),
      // --availability-zone set to a zone wins; with the default `all`, groups that refused it take the zone chosen for them.
      ...(options.availabilityZone === 'all' ? { groupZones: rememberedZones(state) } : {}),
    });
    const policed = applyPolicies({
      now: this.now(), plans: planned, isRefused: (arn, t) => this.writer.isRefused(arn, t), pendingGroups, gathering: this.gathering,
      wave: { pressed: this.pressed(planned), at: this.waveAt, draw: this.random, fleetSize: options.fleet.fleetSize, limits: options.fleet.limits },
    });
    this.waveAt = policed.waveAt;
    this.gathering = policed.gathering;
    if (policed.waveScheduled) {
      const w = policed.waveScheduled;
      options.log.info(`registering ${w.targets} moved or gated target(s) in ${w.inMs} ms (this host's moment in the fleet's ${w.windowMs} ms window)`, { event: 'wave-scheduled', ...w });
    }
    for (const h of policed.held) options.log.debug(`holding ${h.change} of ${h.target.id}:${h.target.port}: ${h.why}${h.until !== undefined ? ` for ${h.until - this.now()} ms` : ''}`, { event: 'held', ...h });
    tracer.step('planned');

    // Every group's stops at once, beside the other changes (target-writer.ts): a stop never waits behind another call.
    const applied = await this.writer.writeAll(policed.plans, { containers, reasons, mode: 'pass', recorded: state.targets });
    const outcomes = [...applied.values()];
    const sum = (pick: (o: (typeof outcomes)[number]) => number) => outcomes.reduce((n, o) => n + pick(o), 0);
    const heldForState = sum((o) => o.heldForState);
    const failed = sum((o) => o.failed);
    const deferred = new Set(policed.held.filter((h) => h.why === 'gathering-starts').map((h) => h.targetGroupArn)).size + outcomes.filter((o) => o.waitMs !== undefined).length;

    const view = (arn: string) => this.reader.view(arn, this.keeper.current.targets);
    // Against the views as the writes left them: a registration without a usable answer is still there, as maybe ours.
    const targets = ownedAfter(this.keeper.current.targets, new Map(groups.map((g) => [g, view(g)])), applied, owned, desired.endpoints);
    const addresses = keptAddresses(this.keeper.current.addresses, address, targets);
    // After the calls, and behind: the next pass (a stop that came during these calls) does not wait for it.
    const written = this.keeper.update({ ...this.keeper.current, addresses, targets });
    if (heldForState === 0) this.writer.stateWritable();
    await this.tracker.schedule(groups, view);
    const stateRetry = this.keeper.retryInMs();
    const retry = this.backoff.retryHint().retryInMs;
    // A read that is due but waits for the Describe pace wakes the loop when the pace allows it, not at once.
    const readFloor = reads.waitMs ?? 0;
    const backingOff = (arn: string) => this.backoff.isWaiting(arn);
    // A group backing off is woken by its backoff, not by its overdue read.
    const dueIn = this.reader.nextReadInMs(reads.readable.filter((g) => !backingOff(g)));
    const next = [reads.waitMs, policed.waitMs, ...outcomes.map((o) => o.waitMs), stateRetry, ...this.tracker.nextReadsInMs(readFloor, backingOff), retry, dueIn !== undefined ? Math.max(readFloor, dueIn) : undefined].filter((ms): ms is number => ms !== undefined);
    return {
      registered: sum((o) => o.added.length),
      deregistered: sum((o) => o.removed.size),
      failed,
      ownedTargets: targets.length,
      ...(address !== undefined ? { address } : {}),
      ...(deferred > 0 ? { deferred } : {}),
      ...(heldForState > 0 ? { heldForState } : {}),
      ...(policed.held.length > 0 ? { held: policed.held } : {}),
      settled: failed === 0 && deferred === 0 && heldForState === 0 && stateRetry === undefined && retry === undefined,
      ...(next.length > 0 ? { nextPassInMs: Math.min(...next) } : {}),
      driftRepairIntervalMs: budget.intervalMs,
      written: written.then(() => this.keeper.retryInMs()),
    };
  }

  /**
   * Deregisters every target this host owns (current and recorded addresses) in every group in
   * play, e.g. when the host shuts down: the plan with no desired endpoints, written in shutdown
   * mode. Groups this process never read are read first, so a target on the current address that
   * was not recorded goes too.
   */
  async deregisterAll(reason: string): Promise<{ deregistered: OwnedTarget[]; failed: number }> {
    await this.currentState();
    const choice = await this.options.addresses.current();
    // `deregister --all` on a damaged state: the same recovery as a pass, said once.
    this.recoverOnce(choice.address);
    const state = this.keeper.current;
    const owned = new Set(choice.address !== undefined ? [choice.address] : []);
    this.backoff.clear();
    const actual = new Map<string, ReturnType<GroupReader['view']>>();
    let failed = 0;
    for (const arn of groupsInPlay(this.options.allowedTargetGroups, [], state.targets)) {
      if (!this.reader.wasRead(arn) && !(await this.reader.read(arn, reason))) {
        failed++;
        continue;
      }
      actual.set(arn, this.reader.view(arn, state.targets));
    }
    const deregistered: OwnedTarget[] = [];
    const applied = new Map<string, AppliedChanges>();
    for (const p of plan({ endpoints: [], actual, ownedAddresses: owned, ownedTargets: recordedKeys(state) })) {
      const outcome = await this.writer.write(p, { containers: [], reasons: [], mode: 'shutdown', reason, recorded: this.keeper.current.targets });
      failed += outcome.failed;
      applied.set(p.targetGroupArn, outcome);
      for (const d of p.deregister) if (outcome.removed.has(targetKey(p.targetGroupArn, d.target.id, d.target.port))) deregistered.push({ targetGroupArn: p.targetGroupArn, ...d.target });
    }
    const targets = ownedAfter(state.targets, actual, applied, owned, []);
    await this.keeper.update({ ...this.keeper.current, targets });
    return { deregistered, failed };
  }

  /** Whether this host's change pace was throttled and has not recovered: asked only when a move is planned (the one change it spreads, policy.ts's spreads). */
  private pressed(planned: readonly GroupPlan[]): boolean {
    return planned.some((p) => p.register.some((r) => r.moved === true)) && this.options.pace.rates().change < this.options.fleet.limits.change.perSecond;
  }

  /** On the first pass (or `deregister --all`): what a damaged state still proves, adopted and said once; the state then. */
  private recoverOnce(address: string | undefined): AgentState | undefined {
    if (this.recoveryDone) return undefined;
    this.recoveryDone = true;
    adoptRecovery(this.options.store, this.keeper, this.options.log, address);
    return this.keeper.current;
  }
}
