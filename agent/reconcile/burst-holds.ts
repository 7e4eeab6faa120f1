/**
 * The reconciler's burst holds: which groups' changes wait for those right behind them, per
 * group and direction, over passes (coalesce.ts says how long a change waits; this keeps when
 * each burst began and since when its changes are held, and when each group's last
 * DeregisterTargets went out).
 */
import type { ContainerActivity, ContainerSnapshot } from '../core/container.ts';
import { labelledGroups } from '../mapping/desired.ts';
import type { MappingRule } from '../mapping/mapping-file.ts';
import { COALESCE, holdMs, startQuietMs, stopQuietMs } from './coalesce.ts';
import type { GroupPlan } from './plan.ts';
import { withoutHeld } from './policy.ts';

export class BurstHolds {
  /** Bursts under way per group and direction (`arn|register`, `arn|deregister`): since when, and since when changes are held. */
  private readonly bursts = new Map<string, { since: number; heldSince?: number }>();
  /** When each group's last DeregisterTargets went out (a burst of stop signals follows closely). */
  private readonly lastDeregistered = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** The group's DeregisterTargets went out now. */
  deregistered(arn: string): void {
    this.lastDeregistered.set(arn, this.now());
  }

  /**
   * Holds a group's changes in a burst so that those right behind travel in the same call
   * (coalesce.ts says how long); returns the plans to send now, when to look again, and how
   * many groups have changes held. Sources that tell nothing of what is coming hold nothing.
   */
  hold(plans: GroupPlan[], activity: ContainerActivity | undefined, groups: readonly string[], rules: readonly MappingRule[], containers: readonly ContainerSnapshot[]): { plans: GroupPlan[]; burstWaitMs?: number; heldGroups: number } {
    if (!activity) return { plans, heldGroups: 0 };
    const now = this.now();
    // Only containers for this host's groups count (other containers come and go on the host too).
    const ours = new Set(groups);
    const oursOf = (labels: Readonly<Record<string, string>>) => [...labelledGroups(labels, rules)].filter((g) => ours.has(g));
    const pendingSince = new Map<string, number>();
    for (const p of activity.pendingStarts) for (const g of oursOf(p.labels)) pendingSince.set(g, Math.min(pendingSince.get(g) ?? Infinity, p.createdAt));
    // A burst of starts goes on while two of ours started within the quiet time and still run: one start alone is no burst (a
    // lone start right after one, say), nor is a container started and stopped again a sibling coming up.
    const running = new Set(containers.filter((c) => c.running && !c.stopping).map((c) => c.id));
    const starts = activity.recentStarts.filter((s) => running.has(s.id) && oursOf(s.labels).length > 0).map((s) => s.startedAt).sort((a, b) => b - a);
    const lastStartAt = starts[1] ?? -Infinity;
    const startBursts = [...this.bursts].filter(([k]) => k.endsWith('|register')).map(([, b]) => b.since);
    const quiet = startQuietMs(startBursts.length > 0 ? now - Math.min(...startBursts) : 0);
    const starting = pendingSince.size > 0 || now - lastStartAt < quiet;
    if (!starting) for (const k of this.bursts.keys()) if (k.endsWith('|register')) this.bursts.delete(k);
    const startsQuietAt = pendingSince.size > 0 || lastStartAt === -Infinity ? undefined : lastStartAt + quiet;
    const stopBursts = [...this.bursts].filter(([k]) => k.endsWith('|deregister')).map(([, b]) => b.since);
    const stopQuiet = stopQuietMs(stopBursts.length > 0 ? now - Math.min(...stopBursts) : 0);
    const stopping = activity.lastStopAt !== undefined && now - activity.lastStopAt < stopQuiet;
    const stopsQuietAt = activity.lastStopAt !== undefined ? activity.lastStopAt + stopQuiet : undefined;
    const stopBurst = activity.recentKills.filter((t) => now - t < COALESCE.burstWindowMs).length >= COALESCE.burstKills;
    let waitMs: number | undefined;
    let heldGroups = 0;
    const hold = (key: string, since: number | undefined, more: boolean, quietAt: number | undefined, leading = false): boolean => {
      const known = this.bursts.get(key);
      if (!known && since !== undefined && leading) {
        // The change that begins a burst goes at once (a start with siblings still to come is served now); those behind it wait.
        this.bursts.set(key, { since });
        return false;
      }
      const burst = known ?? (since !== undefined ? { since } : undefined);
      if (!burst) return false;
      burst.heldSince ??= now;
      const ms = holdMs({ now, burstSince: burst.since, heldSince: burst.heldSince, more, ...(quietAt !== undefined ? { quietAt } : {}) });
      if (ms === 0) burst.heldSince = undefined;
      this.bursts.set(key, burst);
      if (ms > 0) waitMs = Math.min(waitMs ?? Infinity, ms);
      return ms > 0;
    };
    const out: GroupPlan[] = [];
    for (const p of plans) {
      const arn = p.targetGroupArn;
      let plan = p;
      const pending = pendingSince.get(arn);
      // More of the group's containers are being started: their registrations join these.
      if (p.register.length > 0 && hold(`${arn}|register`, pending !== undefined ? Math.min(pending, now) : undefined, starting, startsQuietAt, true)) plan = withoutHeld(plan, () => true);
      const last = this.lastDeregistered.get(arn);
      if (plan.deregister.some((d) => d.why === 'not-desired')) {
        // A burst of stop signals: this group's call went out moments ago, and containers are still being stopped.
        const begins = stopBurst && last !== undefined && now - last < COALESCE.burstWindowMs ? now : undefined;
        if (hold(`${arn}|deregister`, begins, stopping, stopsQuietAt)) plan = { ...plan, deregister: plan.deregister.filter((d) => d.why !== 'not-desired') };
      } else if (activity.recentKills.length === 0 && (last === undefined || now - last >= COALESCE.burstWindowMs)) {
        // No stop signal for a second: the burst is over.
        this.bursts.delete(`${arn}|deregister`);
      }
      if (plan !== p) heldGroups++;
      if (plan.register.length > 0 || plan.deregister.length > 0) out.push(plan);
    }
    return { plans: out, ...(waitMs !== undefined ? { burstWaitMs: waitMs } : {}), heldGroups };
  }
}
