/**
 * What this host knows each target group holds, and every read of it: the views (last read plus
 * this host's own writes, group-view.ts), when each group's drift-repair read is due (sized to
 * the fleet, read-schedule.ts), the read itself within the Describe pace and the group's
 * backoff, and how long this host's deregistered targets took to leave (the drain metric).
 */
import { shortTargetGroup } from '../core/arn.ts';
import type { OwnedTarget } from '../core/state.ts';
import { targetKey, type ActualTarget, type TargetRef, type TargetRegistry } from '../core/target-registry.ts';
import type { ApiPace } from '../fleet/api-pace.ts';
import { ReadSchedule } from '../fleet/read-schedule.ts';
import type { Log } from '../log.ts';
import type { GroupBackoff } from './group-backoff.ts';
import { GroupViews } from './group-view.ts';

/** Deregistrations whose end is still to be seen, at most: older ones are forgotten (the metric is a sample). */
const MAX_WATCHED_DRAINS = 10_000;
/** ELBv2's longest deregistration delay is an hour: a target still draining after two is not one to measure. */
const LONGEST_DRAIN_MS = 2 * 3_600_000;

export interface GroupReaderOptions {
  readonly registry: TargetRegistry;
  readonly pace: ApiPace;
  readonly backoff: GroupBackoff;
  readonly log: Log;
  readonly now: () => number;
  readonly random: () => number;
  /** A read showed that a target this host deregistered has left its group: how long after the call (at most one read interval late). */
  readonly onDrained?: (targetGroupArn: string, ms: number) => void;
}

/** What a pass's reads leave: the views to plan against, the groups read and looked at, and the pace's wait. */
export interface DueReads {
  readonly actual: Map<string, ActualTarget[]>;
  readonly read: string[];
  /** The groups in play and those still watched beyond them (their next reads wake the loop). */
  readonly readable: string[];
  readonly waitMs?: number;
}

/** The groups' views, their reads and the drains this host watches. */
export class GroupReader {
  private readonly views = new GroupViews();
  private readonly schedule: ReadSchedule;
  /** Targets this host deregistered (targetKey) and when: a read that no longer shows one measures its drain. */
  private readonly deregisteredAt = new Map<string, number>();

  constructor(private readonly options: GroupReaderOptions) {
    this.schedule = new ReadSchedule({ now: options.now, random: options.random });
  }

  /** The group as this host believes it is (seeded from its records the first time). */
  view(arn: string, records: readonly OwnedTarget[]): ActualTarget[] {
    return this.views.view(arn, records);
  }

  /** Whether the group was read in this process. */
  wasRead(arn: string): boolean {
    return this.views.wasRead(arn);
  }

  /**
   * Reads the groups whose read is due, among `groups` and those this host left whose drains it
   * still watches: first those the readiness gate waits for (`gateDue`), then drift repair at the
   * fleet's read budget, within the Describe pace and their backoff. Returns the views of `groups`
   * after the reads (seeded from `records`), the groups read and looked at, and how long until the
   * pace allows the next read when one had to wait.
   */
  async readDue(groups: readonly string[], gateDue: readonly string[], budget: { windowMs: number; intervalMs: number }, records: readonly OwnedTarget[]): Promise<DueReads> {
    const readable = [...groups, ...this.watchedBeyond(groups)];
    const first = gateDue.filter((arn) => readable.includes(arn));
    const drift = this.schedule.due(readable, budget.windowMs).filter((arn) => !first.includes(arn));
    const read: string[] = [];
    let waitMs: number | undefined;
    for (const arn of [...first, ...drift]) {
      if (this.options.backoff.isWaiting(arn)) continue;
      const wait = this.options.pace.delayMs('describe');
      if (wait > 0) {
        waitMs = wait;
        break;
      }
      if (!(await this.read(arn, first.includes(arn) ? 'readiness-gate' : 'drift-repair'))) continue;
      // Any read repairs drift too: the next drift-repair read is one interval after it.
      this.schedule.read(arn, budget.intervalMs);
      read.push(arn);
    }
    const actual = new Map(groups.map((arn) => [arn, this.views.view(arn, records)]));
    return { actual, read, readable, ...(waitMs !== undefined ? { waitMs } : {}) };
  }

  /** Groups this host left that are still read until their last deregistered target is seen gone (the drain metric). */
  private watchedBeyond(groups: readonly string[]): string[] {
    for (const [k, at] of this.deregisteredAt) if (this.options.now() - at > LONGEST_DRAIN_MS) this.deregisteredAt.delete(k);
    return [...new Set([...this.deregisteredAt.keys()].map((k) => k.slice(0, k.indexOf('|'))))].filter((g) => !groups.includes(g));
  }

  /** How long until the next of these groups' reads is due. */
  nextReadInMs(groups: readonly string[]): number | undefined {
    return this.schedule.nextInMs(groups);
  }

  /** Reads one group into its view; false when the read failed (the backoff says when to try again). */
  async read(arn: string, why: string): Promise<boolean> {
    try {
      const targets = await this.options.registry.describeTargets(arn);
      this.views.read(arn, targets);
      this.seeDrained(arn, targets);
      this.options.backoff.succeeded(arn, 'describe');
      this.options.backoff.recovered(arn);
      this.options.log.debug(`read ${shortTargetGroup(arn)}: ${targets.length} target(s)`, { event: 'read', targetGroupArn: arn, targets: targets.length, reason: why });
      return true;
    } catch (err) {
      this.options.backoff.failed(arn, err, 'describing targets', 'describe');
      return false;
    }
  }

  /** This host registered these (a registration ends the drain being watched for the same target). */
  registered(arn: string, targets: readonly TargetRef[]): void {
    for (const t of targets) this.deregisteredAt.delete(targetKey(arn, t.id, t.port));
    this.views.registered(arn, targets);
  }

  /** RegisterTargets of these got no usable answer: they may be in the group. */
  outcomeUnknown(arn: string, targets: readonly TargetRef[]): void {
    this.views.outcomeUnknown(arn, targets);
  }

  /** This host deregistered these: they drain, and a later read that no longer shows them measures it. */
  deregistered(arn: string, targets: readonly TargetRef[]): void {
    for (const t of targets) if (this.deregisteredAt.size < MAX_WATCHED_DRAINS) this.deregisteredAt.set(targetKey(arn, t.id, t.port), this.options.now());
    this.views.deregistered(arn, targets);
  }

  /** Waits until the given targets have left their groups (draining done), or the timeout passes. Returns those still there. */
  async waitForDrain(targets: readonly OwnedTarget[], timeoutMs: number, pollMs: number): Promise<OwnedTarget[]> {
    const deadline = this.options.now() + timeoutMs;
    let remaining = [...targets];
    while (remaining.length > 0) {
      const groups = [...new Set(remaining.map((t) => t.targetGroupArn))];
      const still = new Set<string>();
      await Promise.all(
        groups.map(async (arn) => {
          try {
            const targets = await this.options.registry.describeTargets(arn);
            this.seeDrained(arn, targets);
            for (const t of targets) still.add(targetKey(arn, t.id, t.port));
          } catch {
            remaining.filter((t) => t.targetGroupArn === arn).forEach((t) => still.add(targetKey(arn, t.id, t.port)));
          }
        }),
      );
      remaining = remaining.filter((t) => still.has(targetKey(t.targetGroupArn, t.id, t.port)));
      if (remaining.length === 0 || this.options.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - this.options.now()))));
    }
    return remaining;
  }

  /** The deregistered targets a read no longer shows have drained: reports how long it took. */
  private seeDrained(arn: string, targets: readonly ActualTarget[]): void {
    const present = new Set(targets.map((t) => targetKey(arn, t.id, t.port)));
    for (const [k, at] of this.deregisteredAt) {
      if (!k.startsWith(`${arn}|`) || present.has(k)) continue;
      this.deregisteredAt.delete(k);
      this.options.onDrained?.(arn, this.options.now() - at);
    }
  }
}
