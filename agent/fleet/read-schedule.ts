/**
 * When each target group is next read to repair drift. The first read after start falls at
 * a random point of the fleet's read window (every agent of a fleet restarted at once must
 * not read every group at once); later ones every drift-repair interval, jittered +-10% so
 * hosts stay spread. Pure: the clock and the dice are injected.
 */
import { jittered } from '../core/backoff.ts';

/** How far later reads are jittered around the interval. */
export const READ_JITTER = 0.1;

export interface ReadScheduleOptions {
  readonly now: () => number;
  readonly random: () => number;
}

/** The next read time of every group. */
export class ReadSchedule {
  private readonly next = new Map<string, number>();

  constructor(private readonly options: ReadScheduleOptions) {}

  /** The groups whose read is due now; a group seen for the first time is scheduled within `firstWindowMs`. */
  due(arns: readonly string[], firstWindowMs: number): string[] {
    const t = this.options.now();
    for (const arn of arns) if (!this.next.has(arn)) this.next.set(arn, t + Math.floor(this.options.random() * firstWindowMs));
    return arns.filter((arn) => (this.next.get(arn) as number) <= t);
  }

  /** The group was read: the next read is one interval away, jittered. */
  read(arn: string, intervalMs: number): void {
    this.next.set(arn, this.options.now() + jittered(intervalMs, READ_JITTER, this.options.random));
  }

  /** Brings a group's read forward to now (e.g. a feature needs its health). */
  readSoon(arn: string): void {
    this.next.set(arn, Math.min(this.next.get(arn) ?? Infinity, this.options.now()));
  }

  /** How long until the next of these groups is due (undefined when none is scheduled). */
  nextInMs(arns: readonly string[]): number | undefined {
    const t = this.options.now();
    const times = arns.map((a) => this.next.get(a)).filter((v): v is number => v !== undefined);
    return times.length > 0 ? Math.max(0, Math.min(...times) - t) : undefined;
  }
}
