/** When the local ELBv2 endpoint received each target's Register/DeregisterTargets, for latency lookups. */
import type { LocalElbv2 } from '../../test/support/local-elbv2/index.ts';

export type ChangeAction = 'RegisterTargets' | 'DeregisterTargets';

export interface CallIndex {
  /** Arrival time (epoch ms, to the microsecond: RequestLogEntry.receivedAt) of the first successful `action` naming `id:port` in `group` at or after `since`. */
  firstAfter(action: ChangeAction, group: string, id: string, port: number, since: number): number | undefined;
  /** Successful `action` calls per group since `since`. */
  callsSince(action: ChangeAction, since: number): Map<string, number>;
}

/**
 * Indexes every successful change call from now on. Ports are reused by Docker, so a lookup
 * asks for the first call after the container's own event (less a little slack: the engine
 * stamps the event after the container already runs, and a periodic pass may see it first).
 */
export function indexChangeCalls(elb: LocalElbv2): CallIndex {
  const byTarget = new Map<string, number[]>();
  const calls: Array<{ action: string; group: string; time: number }> = [];
  elb.onRequest((e) => {
    if (e.status !== 200 || (e.action !== 'RegisterTargets' && e.action !== 'DeregisterTargets') || !e.targetGroupArn) return;
    calls.push({ action: e.action, group: e.targetGroupArn, time: e.time });
    for (const t of e.targets ?? []) {
      const key = `${e.action}|${e.targetGroupArn}|${t.id}:${t.port ?? ''}`;
      let times = byTarget.get(key);
      if (!times) byTarget.set(key, (times = []));
      times.push(e.receivedAt);
    }
  });
  return {
    firstAfter: (action, group, id, port, since) => byTarget.get(`${action}|${group}|${id}:${port}`)?.find((t) => t >= since - 50),
    callsSince: (action, since) => {
      const counts = new Map<string, number>();
      for (const c of calls) if (c.action === action && c.time >= since) counts.set(c.group, (counts.get(c.group) ?? 0) + 1);
      return counts;
    },
  };
}
