/**
 * Writes the state through the port one write at a time, always the newest. A record that
 * makes a target this host's is written durably before the call that creates it (`save`
 * resolves once it is on disk); what only forgets (a deregistered target, a pruned address)
 * is written behind (`saveLater`): the pass does not wait for it, and a crash before it lands
 * leaves a record of a target already gone, which the next pass deregisters again (a no-op)
 * or a read clears. Writes that queue up while one is in flight collapse into one.
 */
import type { AgentState, StatePort } from '../core/state.ts';

export class StateWriter {
  /** What the port holds (as JSON), as far as this process wrote or loaded it. */
  private written: string | undefined;
  private latest: AgentState | undefined;
  private latestJson: string | undefined;
  private writing: Promise<void> | undefined;
  /** A write behind that failed: the next `save` or `flush` writes again, and throws if that fails too. */
  private failure: unknown;

  constructor(private readonly store: StatePort) {}

  /** The state as loaded: what the port holds. */
  loaded(state: AgentState): void {
    this.written = JSON.stringify(state);
  }

  /** Resolves once `next` (or something newer) is durably written; throws when the write fails. */
  save(next: AgentState): Promise<void> {
    this.set(next);
    return this.flush();
  }

  /** Writes `next` without waiting; a failure surfaces at the next `save` or `flush`. */
  saveLater(next: AgentState): void {
    this.set(next);
    this.flush().catch(() => undefined);
  }

  /** Resolves once everything given so far is written. */
  flush(): Promise<void> {
    this.writing ??= this.pump()
      .then(
        () => {
          this.failure = undefined;
        },
        (err: unknown) => {
          this.failure = err;
          throw err;
        },
      )
      .finally(() => {
        this.writing = undefined;
      });
    return this.writing;
  }

  /** The last write failed, and nothing has been written since. */
  get failed(): unknown {
    return this.failure;
  }

  private set(next: AgentState): void {
    this.latest = next;
    this.latestJson = JSON.stringify(next);
  }

  private async pump(): Promise<void> {
    while (this.latest !== undefined && this.latestJson !== this.written) {
      const state = this.latest;
      const json = this.latestJson;
      await this.store.save(state);
      this.written = json;
    }
  }
}
