/**
 * One call tried again while its failure may pass (throttled, transient), with full-jitter
 * exponential backoff between tries, up to a number of tries; a permanent failure ends it at
 * once. Commands that must finish (`fleet status`, `fleet clean`, the ECS calls) use it; the
 * reconcile loop has its own per-group backoff instead.
 */
import { backoffDelay } from '../core/backoff.ts';
import type { ErrorKind } from '../errors.ts';

export interface RetryOptions {
  /** Tries in all (>= 1). */
  readonly attempts: number;
  readonly baseMs: number;
  readonly capMs: number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Default tries of a command's call: about 10 s of backoff at most before it gives up. */
export const COMMAND_RETRY: RetryOptions = { attempts: 6, baseMs: 200, capMs: 5_000 };

/** Runs `call` until it succeeds, fails for good, or runs out of tries; throws its last error. */
export async function retryWhilePassing<T>(call: () => Promise<T>, kindOf: (err: unknown) => ErrorKind, o: RetryOptions = COMMAND_RETRY): Promise<T> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (kindOf(err) === 'permanent' || attempt + 1 >= o.attempts) throw err;
      await sleep(backoffDelay(attempt, o.baseMs, o.capMs, o.random));
    }
  }
}
