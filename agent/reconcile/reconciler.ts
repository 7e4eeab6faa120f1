/**
 * One reconcile pass: read what should be (containers x address) and what is (the target
 * groups), plan the difference, apply it, and record what this host owns. Runs are
 * serialised by the loop; this class keeps the state between them.
 */
import type { ContainerSnapshot, ContainerSource } from '../core/container.ts';
import { OperationError } from '../errors.ts';
import type { AddressSource } from '../core/address.ts';
import { cidrContains, type Cidr } from '../core/ipv4.ts';
import type { Log } from '../log.ts';
import { computeDesired } from '../mapping/desired.ts';
import type { MappingRule } from '../mapping/mapping-file.ts';
import { shortTargetGroup } from '../core/arn.ts';
import { MAX_TARGETS_PER_CALL, type TargetRegistry } from '../core/target-registry.ts';
import type { StateStore } from '../state/state-store.ts';
import type { AgentState, OwnedTarget } from '../core/state.ts';
import { GroupBackoff } from './group-backoff.ts';
import { keptAddresses, mergeTargets, ownedAfter, ownedRecord, recordedKeys, type AppliedChanges } from './owned-targets.ts';
import { chunk, plan, type GroupPlan } from './plan.ts';
import { targetKey, type ActualTarget, type TargetRef } from '../core/target-registry.ts';

export interface ReconcilerOptions {
  readonly containers: ContainerSource;
  readonly registry: TargetRegistry;
  readonly addresses: AddressSource;
  readonly store: StateStore;
  readonly log: Log;
  readonly rules: readonly MappingRule[];
  /** Undefined: any group (--allow-any-target-group). */
  readonly allowedTargetGroups?: readonly string[];
  readonly includeNonEcs: boolean;
  readonly vpcCidrs: readonly Cidr[];
  readonly availabilityZone: string;
  readonly dryRun: boolean;
  /** Per-group retry backoff after transient errors. */
  readonly retry?: { baseMs: number; capMs: number };
  /** How long a group that can't be read for a permanent reason (TargetGroupNotFound, AccessDenied) is left alone; the reconcile interval. */
  readonly permanentRetryMs?: number;
  readonly now?: () => number;
}

/** What one pass did. */
export interface PassResult {
  readonly registered: number;
  readonly deregistered: number;
  readonly failed: number;
  readonly ownedTargets: number;
  readonly address?: string;
  /** When some group is backing off: run again after this many ms. */
  readonly retryInMs?: number;
}

const show = (t: TargetRef) => `${t.id}:${t.port}`;

/** Reconciles this host's containers into their target groups. */
export class Reconciler {
  private state: AgentState | undefined;
  private readonly groups: GroupBackoff;
  private reportedProblems = new Set<string>();
  private lastAddressNote: string | undefined;
  private readonly now: () => number;

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? Date.now;
    this.groups = new GroupBackoff({ log: o.log, ...(o.retry ? { retry: o.retry } : {}), ...(o.permanentRetryMs !== undefined ? { permanentRetryMs: o.permanentRetryMs } : {}), now: this.now });
  }

  /** The state as last loaded or written (loads it on first use). */
  async currentState(): Promise<AgentState> {
    this.state ??= await this.o.store.load();
    return this.state;
  }

  private async saveState(next: AgentState): Promise<void> {
    if (JSON.stringify(next) === JSON.stringify(this.state)) return;
    await this.o.store.save(next);
    this.state = next;
  }

  /** Runs one pass. Throws only when the containers can't be listed or state can't be written. */
  async reconcile(reasons: readonly string[]): Promise<PassResult> {
    const state = await this.currentState();
    const choice = await this.o.addresses.current();
    this.noteAddress(choice.address, choice.interface, choice.problem);
    const address = choice.address;
    const containers = await this.o.containers.list();
    const allowed = this.o.allowedTargetGroups ? new Set(this.o.allowedTargetGroups) : undefined;
    const desired = computeDesired({
      containers,
      rules: this.o.rules,
      ...(allowed ? { allowedTargetGroups: allowed } : {}),
      includeNonEcs: this.o.includeNonEcs,
      ...(address !== undefined ? { hostAddress: address } : {}),
    });
    this.reportProblems(desired.problems);

    // Own the address before registering anything on it: a lost response can't leak a target.
    if (address !== undefined && !state.addresses.includes(address) && !this.o.dryRun) {
      await this.saveState({ ...state, addresses: [...state.addresses, address] });
    }
    // Ours: anything on the current address; on earlier addresses only what we recorded.
    const owned = new Set(address !== undefined ? [address] : []);
    const recorded = recordedKeys(this.state as AgentState);

    const groups = new Set<string>([
      ...(this.o.allowedTargetGroups ?? []),
      ...desired.endpoints.map((e) => e.targetGroupArn),
      ...(this.state as AgentState).targets.map((t) => t.targetGroupArn),
    ]);
    const actual = await this.describeGroups([...groups]);
    const az = address !== undefined && !this.o.vpcCidrs.some((c) => cidrContains(c, address)) ? this.o.availabilityZone : undefined;
    const plans = plan({ endpoints: desired.endpoints, actual, ownedAddresses: owned, ownedTargets: recorded, ...(address !== undefined ? { address } : {}), ...(az !== undefined ? { availabilityZone: az } : {}) });

    let registered = 0;
    let deregistered = 0;
    let failed = 0;
    const applied = new Map<string, { added: OwnedTarget[]; removed: Set<string>; failed: number }>();
    for (const p of plans) {
      const outcome = await this.apply(p, containers, reasons);
      registered += outcome.added.length;
      deregistered += outcome.removed.size;
      failed += outcome.failed;
      applied.set(p.targetGroupArn, outcome);
    }
    // A group read and changed without a failure is out of backoff: its next failure starts again at the base delay.
    for (const arn of actual.keys()) if ((applied.get(arn)?.failed ?? 0) === 0) this.groups.recovered(arn);

    const targets = ownedAfter((this.state as AgentState).targets, actual, applied, owned, desired.endpoints);
    const everyGroupRead = [...groups].every((g) => actual.has(g));
    const addresses = this.o.dryRun ? (this.state as AgentState).addresses : keptAddresses((this.state as AgentState).addresses, address, everyGroupRead, targets);
    if (!this.o.dryRun) await this.saveState({ ...(this.state as AgentState), addresses, targets });
    return {
      registered,
      deregistered,
      failed,
      ownedTargets: targets.length,
      ...(address !== undefined ? { address } : {}),
      ...this.groups.retryHint(),
    };
  }

  /**
   * Deregisters every target this host owns (current and recorded addresses) in every
   * group in play, e.g. when the host shuts down. Returns what was deregistered.
   */
  async deregisterAll(reason: string): Promise<{ deregistered: OwnedTarget[]; failed: number }> {
    const state = await this.currentState();
    const choice = await this.o.addresses.current();
    const owned = new Set(choice.address !== undefined ? [choice.address] : []);
    const groups = new Set([...(this.o.allowedTargetGroups ?? []), ...state.targets.map((t) => t.targetGroupArn)]);
    this.groups.clear();
    const actual = await this.describeGroups([...groups]);
    const deregistered: OwnedTarget[] = [];
    const applied = new Map<string, AppliedChanges>();
    let failed = [...groups].filter((g) => !actual.has(g)).length;
    for (const p of plan({ endpoints: [], actual, ownedAddresses: owned, ownedTargets: recordedKeys(state) })) {
      const outcome = await this.apply(p, [], [], reason);
      failed += outcome.failed;
      applied.set(p.targetGroupArn, outcome);
      for (const d of p.deregister) {
        if (outcome.removed.has(targetKey(p.targetGroupArn, d.target.id, d.target.port))) deregistered.push({ targetGroupArn: p.targetGroupArn, ...d.target });
      }
    }
    const targets = ownedAfter(state.targets, actual, applied, owned, []);
    if (!this.o.dryRun) await this.saveState({ ...(this.state as AgentState), targets });
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
            for (const t of await this.o.registry.describeTargets(arn)) still.add(targetKey(arn, t.id, t.port));
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

  private async describeGroups(groups: string[]): Promise<Map<string, ActualTarget[]>> {
    const actual = new Map<string, ActualTarget[]>();
    await Promise.all(
      groups.map(async (arn) => {
        if (this.groups.isWaiting(arn)) return;
        try {
          actual.set(arn, await this.o.registry.describeTargets(arn));
          this.groups.succeeded(arn, 'describe');
        } catch (err) {
          this.groups.failed(arn, err, 'describing targets', 'describe');
        }
      }),
    );
    // Keep a stable order so logs and calls are deterministic.
    return new Map([...actual.entries()].sort((a, b) => a[0].localeCompare(b[0])));
  }

  private async apply(p: GroupPlan, containers: readonly ContainerSnapshot[], reasons: readonly string[], why?: string) {
    const arn = p.targetGroupArn;
    const tg = shortTargetGroup(arn);
    const added: OwnedTarget[] = [];
    const removed = new Set<string>();
    let failed = 0;
    const byId = new Map(containers.map((c) => [c.id, c]));
    const previous = new Map((this.state as AgentState).targets.map((t) => [targetKey(t.targetGroupArn, t.id, t.port), t]));

    if (p.register.length > 0) {
      const records = p.register.map(({ target, endpoint }) => ownedRecord(arn, target, endpoint));
      // Record before calling: if the process dies mid-call, the next run still knows these are ours.
      if (!this.o.dryRun) await this.saveState({ ...(this.state as AgentState), targets: mergeTargets((this.state as AgentState).targets, records) });
      const ok = await this.send('RegisterTargets', arn, p.register.map((r) => r.target), (batch) => this.o.registry.register(arn, batch));
      for (const { target, endpoint } of p.register) {
        const k = targetKey(arn, target.id, target.port);
        if (!ok.has(k)) {
          failed++;
          continue;
        }
        added.push(ownedRecord(arn, target, endpoint));
        const reason = previous.has(k) ? 'drift-repair' : reasons.join(',');
        this.o.log.info(`${this.o.dryRun ? 'would register' : 'registered'} ${tg} ${show(target)}`, {
          event: 'registered', targetGroupArn: arn, target: show(target), ...(target.availabilityZone ? { availabilityZone: target.availabilityZone } : {}),
          container: endpoint.containerName, containerId: endpoint.containerId.slice(0, 12), ...(endpoint.taskArn ? { taskArn: endpoint.taskArn } : {}), reason,
        });
      }
    }

    // Make-before-break: a target left behind on an old address stays until its replacement is in.
    const notReplaced = new Set(p.register.filter(({ target }) => !added.some((a) => a.port === target.port)).map(({ target }) => target.port));
    const deregister = p.deregister.filter((d) => d.why !== 'address-changed' || !notReplaced.has(d.target.port));
    if (deregister.length > 0) {
      const ok = await this.send('DeregisterTargets', arn, deregister.map((d) => d.target), (batch) => this.o.registry.deregister(arn, batch));
      for (const { target } of deregister) {
        const k = targetKey(arn, target.id, target.port);
        if (!ok.has(k)) {
          failed++;
          continue;
        }
        removed.add(k);
        const record = previous.get(k);
        const container = record?.containerId ? byId.get(record.containerId) : undefined;
        this.o.log.info(`${this.o.dryRun ? 'would deregister' : 'deregistered'} ${tg} ${show(target)}`, {
          event: 'deregistered', targetGroupArn: arn, target: show(target),
          ...(record?.containerName ? { container: record.containerName } : {}), ...(record?.containerId ? { containerId: record.containerId.slice(0, 12) } : {}),
          ...(record?.taskArn ? { taskArn: record.taskArn } : {}), reason: why ?? deregisterReason(deregister.find((d) => d.target === target)?.why ?? 'not-desired', container),
        });
      }
    }
    return { added, removed, failed };
  }

  /**
   * Sends targets in bounded batches. A batch refused for one bad target (InvalidTarget)
   * is split so the good ones still go through. Returns the keys that succeeded.
   */
  private async send(action: string, arn: string, targets: readonly TargetRef[], call: (batch: TargetRef[]) => Promise<void>): Promise<Set<string>> {
    const ok = new Set<string>();
    if (this.o.dryRun) {
      targets.forEach((t) => ok.add(targetKey(arn, t.id, t.port)));
      return ok;
    }
    const attempt = async (batch: TargetRef[]): Promise<void> => {
      // After a transient failure earlier in this pass the group is backing off: the rest waits for its retry.
      if (this.groups.isWaiting(arn)) return;
      try {
        await call(batch);
        batch.forEach((t) => ok.add(targetKey(arn, t.id, t.port)));
        this.groups.succeeded(arn, action);
      } catch (err) {
        if (err instanceof OperationError && err.code === 'InvalidTarget' && batch.length > 1) {
          for (const one of batch) await attempt([one]);
          return;
        }
        this.groups.failed(arn, err, `${action} ${batch.map(show).join(' ')}`, action);
      }
    };
    for (const batch of chunk(targets, MAX_TARGETS_PER_CALL)) await attempt(batch);
    return ok;
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

function deregisterReason(why: string, container: ContainerSnapshot | undefined): string {
  if (why === 'address-changed') return 'address-changed';
  if (!container || !container.running) return 'container-gone';
  if (container.stopping) return 'container-stopping';
  if (container.health === 'unhealthy' || container.health === 'starting') return `container-${container.health}`;
  return 'no-longer-mapped';
}
