/**
 * Every change call of the reconciler: one group's plan applied as RegisterTargets (each target
 * recorded first) and then the DeregisterTargets make-before-break allows, in calls of at most
 * 200 targets; a call refused for one bad target (InvalidTarget) is split so the good ones still
 * go through, and that target is not sent again before the next periodic run. A zone refusal
 * comes back as an outcome for the zone chooser. Outcomes go into the group views and the log.
 * A pass's group waiting out a backoff or the pace is deferred (`waitMs`); in `shutdown` mode
 * the writer waits for the pace instead. Every group's stops go at once, side by side; the
 * reconcile loop runs one pass at a time, so at most one call per group and direction is in
 * flight: stops that come meanwhile go together in the next call, as soon as it returns.
 */
import { shortTargetGroup } from '../core/arn.ts';
import type { ContainerSnapshot } from '../core/container.ts';
import type { OwnedTarget, StatePort } from '../core/state.ts';
import { MAX_TARGETS_PER_CALL, NotSent, targetKey, type TargetRef, type TargetRegistry } from '../core/target-registry.ts';
import { OperationError } from '../errors.ts';
import type { ApiPace } from '../fleet/api-pace.ts';
import type { Log } from '../log.ts';
import { GroupBackoff, isGroupLevel } from './group-backoff.ts';
import type { GroupReader } from './group-reader.ts';
import { ownedRecord, type AppliedChanges } from './owned-targets.ts';
import type { GroupPlan } from './plan.ts';
import { deregisterReason, deregistrationsAfter, failedCallAsks } from './policy.ts';
import type { StateKeeper } from './state-keeper.ts';
import type { ZoneChooser } from './zone-chooser.ts';
import type { Tracer } from '../trace.ts';

/** `pass`: a group that must wait is deferred; `shutdown`: the writer waits for the pace and sends regardless of backoffs. */
export type WriteMode = 'pass' | 'shutdown';

export interface WriteContext {
  /** The containers of the pass (a deregistration's log line says what its container is doing). */
  readonly containers: readonly ContainerSnapshot[];
  /** Why the pass ran (a registration's log line). */
  readonly reasons: readonly string[];
  readonly mode: WriteMode;
  /** The targets the state recorded when the pass planned (a log line names a target's container; a registration already recorded is a drift repair). */
  readonly recorded: readonly OwnedTarget[];
  /** The reason every deregistration gives instead of its plan's (shutdown). */
  readonly reason?: string;
}

/** What one group's write did. */
export interface GroupOutcome extends AppliedChanges {
  readonly added: OwnedTarget[];
  readonly removed: Set<string>;
  readonly failed: number;
  /** Registrations not sent because their records could not be written first. */
  readonly heldForState: number;
  /** The group's changes wait for a backoff or the pace: try again after this long. */
  readonly waitMs?: number;
}

export interface TargetWriterOptions {
  /** Every call goes through this host's pace (fleet/paced-registry.ts). */
  readonly registry: TargetRegistry;
  readonly pace: ApiPace;
  readonly backoff: GroupBackoff;
  readonly keeper: StateKeeper;
  readonly store: StatePort;
  readonly reader: GroupReader;
  readonly zones: ZoneChooser;
  readonly log: Log;
  readonly tracer: Tracer;
  readonly now: () => number;
  /** How long a target refused for a reason of its own is not sent again (the reconcile interval). */
  readonly refusedForMs: number;
  /** A gated target went into a group (the readiness tracker reads it once its health can have turned). */
  readonly onGatedRegistered?: (arn: string) => void;
}

const show = (t: TargetRef) => `${t.id}:${t.port}`;

/** A group's outcome while its write goes on. */
type Tally = { -readonly [K in keyof GroupOutcome]: GroupOutcome[K] };

/** The recorded targets by targetKey (a log line names a target's container). */
const recordsByKey = (recorded: readonly OwnedTarget[]) => new Map(recorded.map((t) => [targetKey(t.targetGroupArn, t.id, t.port), t]));

/** Sends the changes of each group's plan. */
export class TargetWriter {
  /** Targets the API refused for a reason of their own (targetKey): not sent again before this time. */
  private readonly refused = new Map<string, number>();
  /** Registrations held back while the state cannot be written (targetKey), each logged once. */
  private readonly heldForState = new Set<string>();

  constructor(private readonly options: TargetWriterOptions) {}

  /** Whether the API refused this target of the group until later (a policy holds it, policies.ts). */
  isRefused(arn: string, t: TargetRef): boolean {
    const until = this.refused.get(targetKey(arn, t.id, t.port));
    if (until === undefined) return false;
    if (until > this.options.now()) return true;
    this.refused.delete(targetKey(arn, t.id, t.port));
    return false;
  }

  /** Every registration held for the state went through (or none is wanted any more): a later hold is logged again. */
  stateWritable(): void {
    this.heldForState.clear();
  }

  /**
   * Writes every group's plan. The stops (deregistrations of targets no longer wanted) of every
   * group go at once, side by side: a stop never waits behind another call. The rest goes one
   * group after another as before (registrations, then the old addresses' targets they replace),
   * so that a host's first throttled call in a fleet-wide renumbering slows its next.
   */
  async writeAll(plans: readonly GroupPlan[], context: WriteContext): Promise<Map<string, GroupOutcome>> {
    const stops = plans.map((p) => ({ targetGroupArn: p.targetGroupArn, register: [], deregister: p.deregister.filter((d) => d.why === 'not-desired') })).filter((p) => p.deregister.length > 0);
    const rest = plans.map((p) => ({ ...p, deregister: p.deregister.filter((d) => d.why !== 'not-desired') })).filter((p) => p.register.length > 0 || p.deregister.length > 0);
    const oneByOne = async () => {
      const out: GroupOutcome[] = [];
      for (const p of rest) out.push(await this.write(p, context));
      return out;
    };
    const [stopped, others] = await Promise.all([Promise.all(stops.map((p) => this.stop(p.targetGroupArn, p.deregister, context))), oneByOne()]);
    const byGroup = new Map<string, GroupOutcome>();
    for (const [p, o] of [...stops.map((p, i) => [p, stopped[i]!] as const), ...rest.map((p, i) => [p, others[i]!] as const)]) {
      const known = byGroup.get(p.targetGroupArn);
      const waits = [known?.waitMs, o.waitMs].filter((ms): ms is number => ms !== undefined);
      byGroup.set(p.targetGroupArn, !known ? o : {
        added: [...known.added, ...o.added], removed: new Set([...known.removed, ...o.removed]), failed: known.failed + o.failed, heldForState: known.heldForState + o.heldForState,
        ...(waits.length > 0 ? { waitMs: Math.min(...waits) } : {}),
      });
    }
    return byGroup;
  }

  /** Applies one group's plan: registrations first (recorded before the call), then the deregistrations make-before-break allows. */
  async write(p: GroupPlan, context: WriteContext): Promise<GroupOutcome> {
    const arn = p.targetGroupArn;
    const tally: Tally = { added: [], removed: new Set(), failed: 0, heldForState: 0 };
    if (p.register.length > 0) {
      // Deferred before anything is recorded: a pass that sends nothing writes nothing.
      const deferFor = context.mode === 'pass' ? this.waitFor(arn) : undefined;
      if (deferFor !== undefined) return { ...tally, waitMs: deferFor };
      await this.register(p, context, tally);
    }
    const deregister = deregistrationsAfter(p, (t) => tally.added.some((a) => a.id === t.id && a.port === t.port));
    if (deregister.length > 0) await this.deregister(arn, deregister, context, tally);
    return this.ended(arn, tally);
  }

  /** A group's stops: deregistrations nothing holds (make-before-break keeps only an old address's targets), sent at once. */
  async stop(arn: string, deregister: GroupPlan['deregister'], context: WriteContext): Promise<GroupOutcome> {
    const tally: Tally = { added: [], removed: new Set(), failed: 0, heldForState: 0 };
    await this.deregister(arn, deregister, context, tally);
    return this.ended(arn, tally);
  }

  /** How long the group's registrations must wait before they are recorded (undefined: they may go now): its backoff, then this host's pace. */
  private waitFor(arn: string): number | undefined {
    return this.options.backoff.waitMs(arn) ?? (this.options.pace.delayMs('change') || undefined);
  }

  /** The registry a call goes through: in a pass, one that sends only what the pace allows now (NotSent says when it will). */
  private via(mode: WriteMode): TargetRegistry {
    return mode === 'pass' ? (this.options.registry.prompt ?? this.options.registry) : this.options.registry;
  }

  private ended(arn: string, t: Tally): GroupOutcome {
    if (t.failed === 0 && t.waitMs === undefined) this.options.backoff.recovered(arn);
    return t;
  }

  /** Records the plan's registrations, then sends them (while recording, where the registry can hold a prepared request). */
  private async register(p: GroupPlan, context: WriteContext, tally: Tally): Promise<void> {
    const { keeper, reader, log, tracer } = this.options;
    const arn = p.targetGroupArn;
    const tg = shortTargetGroup(arn);
    const records = p.register.map(({ target, endpoint }) => ownedRecord(arn, target, endpoint));
    // Record before calling: if the process dies mid-call, the next run still knows these are ours. Where the registry
    // can hold a prepared request until then, the request is serialised and signed while the records are written, and
    // leaves this host only once they are on disk; otherwise the call waits for them.
    // A record that cannot be written (a full disk) is not registered: the next pass after the write's backoff tries again.
    const record = { targets: records, addresses: [...new Set(records.map((r) => r.id))].filter((a) => !keeper.current.addresses.includes(a)) };
    tracer.step('note');
    const recorded = keeper.recordFirst(record).then((ok) => (tracer.step('noted'), ok));
    const written = recorded.then((ok) => {
      if (!ok) throw new NotSent(`the records of ${tg} ${records.map(show).join(' ')} cannot be written to ${this.options.store.path}`);
    });
    // Observed here too when the call is not made (the group waits for its backoff or the pace): never an unhandled rejection.
    written.catch(() => undefined);
    const targets = p.register.map((r) => r.target);
    const pending = this.options.registry.sendsAfter === true ? this.send('RegisterTargets', arn, targets, (batch) => this.via(context.mode).register(arn, batch, written), tally) : undefined;
    if (!(await recorded)) {
      await pending;
      tally.heldForState = records.length;
      this.logHeldForState(arn, records);
      return;
    }
    const { ok, unknown } = await (pending ?? this.send('RegisterTargets', arn, targets, (batch) => this.via(context.mode).register(arn, batch), tally));
    // No usable answer: the target may be in the group, so its record stays and a later pass decides.
    reader.outcomeUnknown(arn, unknown);
    const previous = recordsByKey(context.recorded);
    const simulated = this.options.registry.simulated === true;
    for (const { target, endpoint } of p.register) {
      const k = targetKey(arn, target.id, target.port);
      if (!ok.has(k)) {
        if (tally.waitMs === undefined) tally.failed++;
        continue;
      }
      tally.added.push(ownedRecord(arn, target, endpoint));
      log.info(`${simulated ? 'would register' : 'registered'} ${tg} ${show(target)}`, {
        event: 'registered', targetGroupArn: arn, target: show(target), ...(target.availabilityZone ? { availabilityZone: target.availabilityZone } : {}),
        container: endpoint.containerName, containerId: endpoint.containerId.slice(0, 12), ...(endpoint.taskArn ? { taskArn: endpoint.taskArn } : {}),
        reason: previous.has(k) ? 'drift-repair' : context.reasons.join(','),
      });
    }
    reader.registered(arn, tally.added);
    if (p.register.some((r) => r.endpoint.gated && ok.has(targetKey(arn, r.target.id, r.target.port)))) this.options.onGatedRegistered?.(arn);
  }

  /** Sends the deregistrations, and logs each with what its container is doing. */
  private async deregister(arn: string, deregister: GroupPlan['deregister'], context: WriteContext, tally: Tally): Promise<void> {
    const { reader, log } = this.options;
    const { ok } = await this.send('DeregisterTargets', arn, deregister.map((d) => d.target), (batch) => this.via(context.mode).deregister(arn, batch), tally);
    const tg = shortTargetGroup(arn);
    const simulated = this.options.registry.simulated === true;
    const previous = recordsByKey(context.recorded);
    const byId = new Map(context.containers.map((c) => [c.id, c]));
    for (const { target, why } of deregister) {
      const k = targetKey(arn, target.id, target.port);
      if (!ok.has(k)) {
        if (tally.waitMs === undefined) tally.failed++;
        continue;
      }
      tally.removed.add(k);
      const record = previous.get(k);
      const container = record?.containerId ? byId.get(record.containerId) : undefined;
      log.info(`${simulated ? 'would deregister' : 'deregistered'} ${tg} ${show(target)}`, {
        event: 'deregistered', targetGroupArn: arn, target: show(target),
        ...(record?.containerName ? { container: record.containerName } : {}), ...(record?.containerId ? { containerId: record.containerId.slice(0, 12) } : {}),
        ...(record?.taskArn ? { taskArn: record.taskArn } : {}), reason: context.reason ?? deregisterReason(why, container),
      });
    }
    reader.deregistered(arn, deregister.filter((d) => ok.has(targetKey(arn, d.target.id, d.target.port))).map((d) => d.target));
  }

  /**
   * Sends targets in calls of at most 200. A call refused for one bad target (InvalidTarget) is
   * split so the good ones still go through. A call the group's backoff does not allow now, or
   * that the registry did not send for the pace (`via`), is not sent: the tally's `waitMs` says
   * when it could be (in shutdown mode the pace is waited for).
   */
  private async send(action: 'RegisterTargets' | 'DeregisterTargets', arn: string, targets: readonly TargetRef[], call: (batch: TargetRef[]) => Promise<void>, tally: Tally): Promise<{ ok: Set<string>; unknown: TargetRef[] }> {
    const { backoff, tracer } = this.options;
    const ok = new Set<string>();
    const unknown: TargetRef[] = [];
    let waitMs: number | undefined;
    const attempt = async (batch: TargetRef[]): Promise<void> => {
      if (waitMs !== undefined) return;
      waitMs = backoff.waitMs(arn);
      if (waitMs !== undefined) return;
      try {
        tracer.step('call', action);
        await call(batch);
        batch.forEach((t) => ok.add(targetKey(arn, t.id, t.port)));
        backoff.succeeded(arn, action);
      } catch (err) {
        // Nothing was sent: the pace allows no call now (the group waits for it), or the records could not be written first (the caller holds the registration).
        if (err instanceof NotSent) {
          waitMs = err.retryInMs;
          return;
        }
        const outcome = failedCallAsks(action, err, batch);
        if (outcome === 'zone-refused' && (await this.options.zones.chooseFor(arn))) {
          // Not a failure: planned again at once, with the group's zone.
          waitMs = 0;
          return;
        }
        if (outcome === 'split') {
          for (const one of batch) await attempt([one]);
          return;
        }
        const kind = err instanceof OperationError ? err.kind : 'transient';
        if (kind === 'transient') unknown.push(...batch);
        // One target refused for a reason of its own is not sent again before the next periodic run.
        if (kind === 'permanent' && batch.length === 1 && !isGroupLevel(err)) this.refused.set(targetKey(arn, batch[0]!.id, batch[0]!.port), this.options.now() + this.options.refusedForMs);
        backoff.failed(arn, err, `${action} ${batch.map(show).join(' ')}`, action);
      }
    };
    for (let i = 0; i < targets.length; i += MAX_TARGETS_PER_CALL) await attempt(targets.slice(i, i + MAX_TARGETS_PER_CALL));
    if (waitMs !== undefined) tally.waitMs = Math.min(tally.waitMs ?? Infinity, waitMs);
    return { ok, unknown };
  }

  private logHeldForState(arn: string, records: readonly OwnedTarget[]): void {
    for (const r of records) {
      const k = targetKey(arn, r.id, r.port);
      if (this.heldForState.has(k)) continue;
      this.heldForState.add(k);
      this.options.log.warn(`not registering ${shortTargetGroup(arn)} ${show(r)} yet: its record cannot be written to ${this.options.store.path} (${this.options.keeper.failing?.error ?? 'write failed'})`, {
        event: 'registration-held', targetGroupArn: arn, target: show(r), container: r.containerName, reason: 'state-write-failed',
      });
    }
  }
}
