/**
 * Whether each host's targets are exact: in every group, the targets on this host's
 * addresses that are not draining are exactly the ones its serving containers ask for on its
 * current address (its last one while it has none: the agent leaves targets in place then).
 * Keeps every host's exact/inexact transitions, so the lag after any action can be measured.
 */
import type { ElbModel } from './elb-model.ts';
import type { SimHost } from './sim-host.ts';

/** An action the world took on a host (a task started, a stop signal, a new address, an agent start). */
interface Episode {
  readonly host: number;
  readonly first: number;
  last: number;
  /** Transitions recorded when the last action was applied. */
  lastIndex: number;
  exactAfterLast: boolean;
}

export interface Lag {
  /** The episode's key, e.g. "deploy:17" (its kind before the colon). */
  readonly key: string;
  readonly host: number;
  /** From the episode's first action until the host was exact after its last (ms); Infinity if never. */
  readonly fromFirstMs: number;
  /** From the episode's last action until exact (ms): how long the agent lagged behind. */
  readonly fromLastMs: number;
  /** When the host was exact again (virtual ms), Infinity if never. */
  readonly exactAt: number;
}

export class ExactTracker {
  private readonly exact: boolean[];
  private readonly times: number[][];
  private readonly flags: boolean[][];
  private readonly episodes = new Map<string, Episode>();
  /** Hosts not exact now. */
  inexact = 0;

  constructor(
    private readonly hosts: readonly SimHost[],
    private readonly model: ElbModel,
    private readonly groups: readonly string[],
    private readonly now: () => number,
  ) {
    this.exact = hosts.map(() => true);
    this.times = hosts.map(() => []);
    this.flags = hosts.map(() => []);
  }

  /** Whether a host's groups hold exactly what it should, now. */
  isExact(h: SimHost): boolean {
    const address = h.address ?? h.lastAddress;
    const want = new Set<string>();
    if (address !== undefined) {
      for (const c of h.containers) if (c.running && !c.killed) want.add(`${c.groupIndex}|${address}|${c.hostPort}`);
    }
    let have = 0;
    for (let g = 0; g < this.groups.length; g++) {
      for (const ip of h.addressesEver) {
        for (const port of this.model.livePorts(this.groups[g] as string, ip)) {
          if (!want.has(`${g}|${ip}|${port}`)) return false;
          have++;
        }
      }
    }
    return have === want.size;
  }

  /** Re-evaluates one host (after its containers, address or targets changed). */
  update(h: SimHost): void {
    const now = this.isExact(h);
    const i = h.index;
    if (now === this.exact[i]) return;
    this.exact[i] = now;
    this.inexact += now ? -1 : 1;
    (this.times[i] as number[]).push(this.now());
    (this.flags[i] as boolean[]).push(now);
  }

  /** Re-evaluates every host (initial state, shared containers). */
  updateAll(): void {
    for (const h of this.hosts) this.update(h);
  }

  exactNow(i: number): boolean {
    return this.exact[i] as boolean;
  }

  /** Records an action of episode `key` on host `i`; call after the action was applied (and `update`d). */
  note(key: string, i: number): void {
    const t = this.now();
    const e = this.episodes.get(key);
    const lastIndex = (this.times[i] as number[]).length;
    const exactAfterLast = this.exact[i] as boolean;
    if (e) {
      e.last = t;
      e.lastIndex = lastIndex;
      e.exactAfterLast = exactAfterLast;
    } else {
      this.episodes.set(key, { host: i, first: t, last: t, lastIndex, exactAfterLast });
    }
  }

  /** The lag of every episode whose key starts with `prefix`. */
  lags(prefix = ''): Lag[] {
    const out: Lag[] = [];
    for (const [key, e] of this.episodes) {
      if (!key.startsWith(prefix)) continue;
      let exactAt = Infinity;
      if (e.exactAfterLast) exactAt = e.last;
      else {
        const times = this.times[e.host] as number[];
        const flags = this.flags[e.host] as boolean[];
        for (let k = e.lastIndex; k < times.length; k++) {
          if (flags[k]) {
            exactAt = times[k] as number;
            break;
          }
        }
      }
      out.push({ key, host: e.host, fromFirstMs: exactAt - e.first, fromLastMs: exactAt - e.last, exactAt });
    }
    return out;
  }
}
