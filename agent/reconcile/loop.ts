/**
 * Runs reconcile passes one at a time. Triggers (events, timers, retries) that arrive
 * during a pass coalesce into exactly one more pass. A periodic, jittered pass re-lists the
 * containers; a pass that asks for another (a backoff ends, the pace allows a deferred call,
 * a drift-repair read is due) gets one then; a failed pass is retried with capped backoff,
 * never in a tight loop.
 */
import { errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';
import { backoffDelay, DEFAULT_RETRY, jittered } from '../core/backoff.ts';
import type { PassResult } from './reconciler.ts';

/** The timers the loop schedules with: the process's own by default, virtual ones in the fleet simulation. */
export interface LoopTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  now(): number;
}

const REAL_TIMERS: LoopTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => performance.now(),
};

export interface LoopOptions {
  readonly pass: (reasons: readonly string[]) => Promise<PassResult>;
  readonly log: Log;
  readonly intervalMs: number;
  /** Fraction of the interval to randomise by (0.1 = +-10%). */
  readonly jitter?: number;
  readonly retry?: { baseMs: number; capMs: number };
  readonly onPass?: (result: PassResult | undefined, durationMs: number, error?: unknown) => void;
  readonly random?: () => number;
  readonly timers?: LoopTimers;
}

/** The single-flight reconcile loop. */
export class ReconcileLoop {
  private running: Promise<void> | undefined;
  private pending = new Set<string>();
  private periodic: unknown;
  private retryTimer: unknown;
  private retryAt: number | undefined;
  private failures = 0;
  /** After a failed pass, triggers wait for the retry timer instead of retrying at once. */
  private backingOff = false;
  private stopped = false;
  private readonly random: () => number;
  private readonly timers: LoopTimers;

  constructor(private readonly options: LoopOptions) {
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? REAL_TIMERS;
  }

  /** Asks for a pass soon; coalesces with any pass already waiting. */
  trigger(reason: string): void {
    if (this.stopped) return;
    this.pending.add(reason);
    if (!this.running && !this.backingOff) this.running = this.drain();
  }

  /** Starts the periodic drift-repair timer. */
  startPeriodic(): void {
    const jitter = this.options.jitter ?? 0.1;
    const next = () => {
      const delay = jittered(this.options.intervalMs, jitter, this.random);
      this.periodic = this.timers.set(() => {
        this.trigger('periodic');
        next();
      }, delay);
    };
    next();
  }

  /** Resolves when no pass is running or waiting. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops timers and new triggers; resolves once the pass in flight has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.periodic !== undefined) this.timers.clear(this.periodic);
    if (this.retryTimer !== undefined) this.timers.clear(this.retryTimer);
    this.pending.clear();
    await this.idle();
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0 && !this.stopped && !this.backingOff) {
        const reasons = [...this.pending].sort();
        this.pending.clear();
        await this.runOnce(reasons);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async runOnce(reasons: string[]): Promise<void> {
    const started = this.timers.now();
    try {
      const result = await this.options.pass(reasons);
      this.failures = 0;
      this.options.onPass?.(result, this.timers.now() - started);
      if (result.nextPassInMs !== undefined) this.scheduleRetry(Math.max(result.nextPassInMs, 50));
      // The pass's state write goes on behind it; if it fails, a pass tries it again after its backoff.
      void result.written?.then((retryInMs) => {
        if (retryInMs !== undefined) this.wakeWithin(Math.max(retryInMs, 50));
      });
    } catch (err) {
      const retry = this.options.retry ?? DEFAULT_RETRY;
      const delay = backoffDelay(this.failures++, retry.baseMs, retry.capMs, this.random);
      this.options.onPass?.(undefined, this.timers.now() - started, err);
      this.options.log.warn(`reconcile failed, retrying in ${delay} ms: ${errorMessage(err)}`, { event: 'reconcile-failed', error: errorMessage(err), retryInMs: delay });
      this.backingOff = true;
      this.scheduleRetry(delay);
    }
  }

  private scheduleRetry(delayMs: number): void {
    if (this.stopped) return;
    if (this.retryTimer !== undefined) this.timers.clear(this.retryTimer);
    this.retryAt = this.timers.now() + delayMs;
    this.retryTimer = this.timers.set(() => {
      this.retryTimer = undefined;
      this.retryAt = undefined;
      this.backingOff = false;
      this.trigger('retry');
    }, delayMs);
  }

  /** Makes sure a pass comes within `delayMs`: keeps an earlier retry, replaces a later one. */
  private wakeWithin(delayMs: number): void {
    if (this.retryAt !== undefined && this.retryAt <= this.timers.now() + delayMs) return;
    this.scheduleRetry(delayMs);
  }
}
