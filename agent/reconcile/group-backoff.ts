/**
 * Per-target-group error handling: transient failures (throttling, 5xx, network) put the
 * group into capped, jittered exponential backoff with one warning per outage; permanent
 * ones (AccessDenied, TargetGroupNotFound) are logged once and retried on the periodic run.
 */
import { OperationError, errorMessage } from '../errors.ts';
import { shortTargetGroup } from '../core/arn.ts';
import type { Log } from '../log.ts';
import { backoffDelay, DEFAULT_RETRY } from '../core/backoff.ts';

/** Permanent errors about the whole group rather than one target: retrying before the next periodic run cannot help. */
const GROUP_LEVEL_CODES = /^(AccessDenied|AccessDeniedException|TargetGroupNotFound|TargetGroupNotFoundException)$/;

/** Whether a permanent error concerns the whole group (else one target of the call). */
export function isGroupLevel(err: unknown): boolean {
  return err instanceof OperationError && GROUP_LEVEL_CODES.test(err.code);
}

export interface GroupBackoffOptions {
  readonly log: Log;
  readonly retry?: { baseMs: number; capMs: number };
  /** How long a group that can't be read for a permanent reason is left alone (the reconcile interval). */
  readonly permanentRetryMs?: number;
  readonly now: () => number;
  readonly random?: () => number;
}

/** The backoff and error-report state of every target group. */
export class GroupBackoff {
  private readonly waits = new Map<string, { attempt: number; notBefore: number }>();
  /** Permanent errors already logged at error level, by group, operation and code; cleared when that operation works again. */
  private readonly reported = new Set<string>();

  constructor(private readonly options: GroupBackoffOptions) {}

  /** Whether the group is waiting out a backoff now. */
  isWaiting(arn: string): boolean {
    return (this.waits.get(arn)?.notBefore ?? 0) > this.options.now();
  }

  /** Records a failure of `what` (describe, RegisterTargets, ...) and logs it once per outage. */
  failed(arn: string, err: unknown, doing: string, what: string): void {
    const transient = !(err instanceof OperationError) || err.kind !== 'permanent';
    const fields = { event: 'error', targetGroupArn: arn, code: err instanceof OperationError ? err.code : 'Error', error: errorMessage(err) };
    if (transient) {
      const b = this.waits.get(arn) ?? { attempt: 0, notBefore: 0 };
      const retry = this.options.retry ?? DEFAULT_RETRY;
      const delay = backoffDelay(b.attempt, retry.baseMs, retry.capMs, this.options.random);
      this.waits.set(arn, { attempt: b.attempt + 1, notBefore: this.options.now() + delay });
      // An outage is one warning per group; the retries that follow are debug lines until it recovers.
      this.options.log[b.attempt === 0 ? 'warn' : 'debug'](`failed ${doing} in ${shortTargetGroup(arn)}, retrying in ${delay} ms`, { ...fields, retryInMs: delay, attempt: b.attempt + 1 });
      return;
    }
    const k = `${arn}|${what}|${fields.code}`;
    const level = this.reported.has(k) ? 'debug' : 'error';
    // A group that can't be read, or that refuses this host altogether, is left alone until the next periodic run;
    // a refused target (InvalidTarget, TooManyTargets) must not hold back the group's other changes.
    if (what === 'describe' || GROUP_LEVEL_CODES.test(fields.code)) this.waits.set(arn, { attempt: 0, notBefore: this.options.now() + (this.options.permanentRetryMs ?? 60_000) });
    this.reported.add(k);
    this.options.log[level](`failed ${doing} in ${shortTargetGroup(arn)}; will retry on the next periodic run`, fields);
  }

  /** `what` worked for the group: a later permanent error of it is worth logging again. */
  succeeded(arn: string, what: string): void {
    for (const k of this.reported) if (k.startsWith(`${arn}|${what}|`)) this.reported.delete(k);
  }

  /** The group was read and changed without a failure: out of backoff, and its next failure starts at the base delay. */
  recovered(arn: string): void {
    const b = this.waits.get(arn);
    if (!b) return;
    this.waits.delete(arn);
    if (b.attempt > 0) this.options.log.info(`ELB calls for ${shortTargetGroup(arn)} succeed again after ${b.attempt} failed attempt(s)`, { event: 'recovered', targetGroupArn: arn, failedAttempts: b.attempt });
  }

  /** Forgets every backoff (a shutdown deregisters regardless). */
  clear(): void {
    this.waits.clear();
  }

  /** How long until this group leaves its backoff (undefined when it is not waiting). */
  waitMs(arn: string): number | undefined {
    const left = (this.waits.get(arn)?.notBefore ?? 0) - this.options.now();
    return left > 0 ? left : undefined;
  }

  /** When the next group leaves its backoff. Only future times count: a group already due was tried in this pass. */
  retryHint(): { retryInMs?: number } {
    const due = [...this.waits.values()].map((b) => b.notBefore - this.options.now()).filter((ms) => ms > 0);
    return due.length > 0 ? { retryInMs: Math.min(...due) } : {};
  }
}
