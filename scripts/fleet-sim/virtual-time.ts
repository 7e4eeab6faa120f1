/**
 * Virtual time for the fleet simulation: a priority queue of timers. `run` pops the earliest
 * timer, sets the clock to its time, fires every timer due at that instant, then lets every
 * pending promise callback settle (one macrotask turn: the agent code is async but, with the
 * simulation's in-memory ports, never waits on real I/O) before the clock moves on. It
 * implements the reconcile loop's LoopTimers, so the real ReconcileLoop runs on it.
 */
import type { LoopTimers } from '../../agent/reconcile/loop.ts';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** One macrotask turn: every microtask queued so far (and the ones they queue) has run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const before = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export class VirtualTime implements LoopTimers {
  private readonly heap: Timer[] = [];
  private seq = 0;
  private t = 0;
  /** Timers fired so far (for the run's statistics). */
  fired = 0;
  /** Distinct instants the clock stopped at. */
  instants = 0;

  /** The virtual time in ms since the start of the run. */
  readonly now = (): number => this.t;

  set(fn: () => void, ms: number): unknown {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    return timer;
  }

  /** Schedules at an absolute virtual time (not before now). */
  at(time: number, fn: () => void): unknown {
    return this.set(fn, time - this.t);
  }

  clear(handle: unknown): void {
    if (handle && typeof handle === 'object' && 'cancelled' in handle) (handle as Timer).cancelled = true;
  }

  /** Timers waiting (cancelled ones included until they surface). */
  get pending(): number {
    return this.heap.length;
  }

  /** Lets pending promise callbacks run without moving the clock. */
  settle(): Promise<void> {
    return settle();
  }

  /**
   * Runs timers up to and including `until`, then sets the clock to `until`. `stop` is asked
   * after every instant; true ends the run early (the clock stays at that instant).
   */
  async run(until: number, stop?: () => boolean): Promise<void> {
    await settle();
    while (this.heap.length > 0) {
      const top = this.heap[0] as Timer;
      if (top.at > until) break;
      this.t = top.at;
      this.instants++;
      while (this.heap.length > 0 && (this.heap[0] as Timer).at === this.t) {
        const timer = this.pop();
        if (timer.cancelled) continue;
        this.fired++;
        timer.fn();
      }
      await settle();
      if (stop?.()) return;
    }
    this.t = Math.max(this.t, until);
  }

  private push(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, h[parent] as Timer)) break;
      h[i] = h[parent] as Timer;
      i = parent;
    }
    h[i] = timer;
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0] as Timer;
    const last = h.pop() as Timer;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const child = r < h.length && before(h[r] as Timer, h[l] as Timer) ? r : l;
        if (!before(h[child] as Timer, last)) break;
        h[i] = h[child] as Timer;
        i = child;
      }
      h[i] = last;
    }
    return top;
  }
}
