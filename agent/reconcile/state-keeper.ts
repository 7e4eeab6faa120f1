/**
 * The state as this process knows it, and every write of it. Two kinds of write keep the
 * agent serving when the disk cannot take one (full, read-only, failing):
 * - `recordFirst`: records that must be on disk before a call (a target before its
 *   RegisterTargets, the address it is on). Kept only once written; when the write fails
 *   the caller does not make the call. Written as a note (one appended line, one sync) where
 *   the store takes notes, else as the whole state.
 * - `update`: bookkeeping after calls. Kept in memory at once and written now or, after a
 *   failure, again once its backoff has passed (what is on disk then still claims at least
 *   what this host registered: never less).
 * - `updateLater`: the same, written behind: the pass does not wait for it (the address a pass
 *   starts on: any registration on it writes it again first, with its record).
 * Writes after a failure wait out a jittered exponential backoff, so a full disk is not
 * hammered by every pass. Writes go one at a time, in order: one behind and one first never
 * race to the rename.
 */
import { backoffDelay } from '../core/backoff.ts';
import { EMPTY_STATE, withNotes, type AgentState, type OwnedTarget, type StateNote, type StatePort } from '../core/state.ts';
import { errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';

export interface StateKeeperOptions {
  readonly store: StatePort;
  readonly log: Log;
  readonly retry: { readonly baseMs: number; readonly capMs: number };
  readonly now: () => number;
  readonly random: () => number;
  /** Each write attempt's outcome (the metrics count the failures). */
  readonly onWrite?: (ok: boolean) => void;
}

/** A write that failed and is waiting to be tried again. */
export interface WriteFailure {
  readonly since: number;
  readonly attempts: number;
  readonly error: string;
  readonly retryAt: number;
}

/** Holds the state and writes it through the port. */
export class StateKeeper {
  private state: AgentState | undefined;
  /** What the file holds, as last written or loaded (undefined: not known to hold this process's view). */
  private written: string | undefined;
  private failure: WriteFailure | undefined;
  /** The write in flight (and those queued after it): the next write starts when it ends. */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: StateKeeperOptions) {}

  /** The state, loaded on first use. */
  async load(): Promise<AgentState> {
    if (this.state === undefined) {
      const loaded = await this.options.store.load();
      this.state = loaded;
      if (this.options.store.recovery === undefined) this.written = JSON.stringify(loaded);
    }
    return this.state;
  }

  /** The state (empty before the first load). */
  get current(): AgentState {
    return this.state ?? EMPTY_STATE;
  }

  /** The write failure being retried, if any. */
  get failing(): WriteFailure | undefined {
    return this.failure;
  }

  /** How long until a failed write is tried again (undefined: nothing waits). */
  retryInMs(): number | undefined {
    return this.failure !== undefined ? Math.max(0, this.failure.retryAt - this.options.now()) : undefined;
  }

  /**
   * Writes `note` (records and their addresses) into the state and adopts it only once it is on
   * disk; false when it is not (the caller must not rely on it). Taken into the state as it is
   * when its turn to be written comes, so records written first for several groups at once
   * never undo each other. Written alone where the store takes notes.
   */
  recordFirst(note: StateNote): Promise<boolean> {
    const run = this.writing.then(async () => {
      const next = withNotes(this.current, [note]);
      if (!(await this.writeNow(next, note))) return false;
      this.state = withNotes(this.current, [note]);
      return true;
    });
    this.writing = run;
    return run;
  }

  /** Adopts `next` and writes it, now or after the backoff of an earlier failure (when its turn comes, whatever is newest). */
  async update(next: AgentState): Promise<void> {
    this.state = next;
    await this.write();
  }

  /** Adopts `next` at once and writes it behind: when its turn comes, whatever is newest is written. */
  updateLater(next: AgentState): void {
    this.state = next;
    void this.write();
  }

  /** Resolves once every write so far has ended (before the process exits). */
  async flush(): Promise<void> {
    await this.writing;
  }

  /** Adopts the records a recovery could still prove, as if loaded (written with the next write). */
  adopt(targets: readonly OwnedTarget[]): void {
    this.state = { ...this.current, targets };
  }

  /** Queues a write of the state as it will be then: a record written first in between is never undone. */
  private write(): Promise<boolean> {
    const run = this.writing.then(() => this.writeNow(this.current, undefined));
    this.writing = run;
    return run;
  }

  private async writeNow(next: AgentState, note: StateNote | undefined): Promise<boolean> {
    const store = this.options.store;
    const noting = note !== undefined && store.note !== undefined;
    const text = noting ? undefined : JSON.stringify(next);
    if (text !== undefined && text === this.written) return true;
    if (this.failure !== undefined && this.options.now() < this.failure.retryAt) return false;
    try {
      await (noting ? store.note?.(note) : store.save(next));
    } catch (err) {
      this.failed(err);
      return false;
    }
    // After a note the saved state alone is no longer what a load gives: the next update saves it, whatever it holds.
    this.written = text;
    this.options.onWrite?.(true);
    if (this.failure !== undefined) {
      const f = this.failure;
      this.failure = undefined;
      this.options.log.info(`state ${this.options.store.path} written again after ${f.attempts} failed attempt(s) over ${Math.round((this.options.now() - f.since) / 1000)} s; held registrations proceed`, {
        event: 'state-write-recovered', path: this.options.store.path, attempts: f.attempts, failingMs: this.options.now() - f.since,
      });
    }
    return true;
  }

  private failed(err: unknown): void {
    const now = this.options.now();
    const attempts = (this.failure?.attempts ?? 0) + 1;
    const retryAt = now + backoffDelay(attempts - 1, this.options.retry.baseMs, this.options.retry.capMs, this.options.random);
    this.failure = { since: this.failure?.since ?? now, attempts, error: errorMessage(err), retryAt };
    this.options.onWrite?.(false);
    const fields = { event: 'state-write-failed', path: this.options.store.path, error: errorMessage(err), attempt: attempts, retryInMs: retryAt - now };
    const message = `cannot write state ${this.options.store.path}: ${errorMessage(err)}; registering nothing new until it can be written (registered targets stay, stopped containers are still deregistered); retrying in ${retryAt - now} ms (attempt ${attempts})`;
    // The first failure and every 10th are errors; the ones between would only repeat it.
    if (attempts === 1 || attempts % 10 === 0) this.options.log.error(message, fields);
    else this.options.log.debug(message, fields);
  }
}
