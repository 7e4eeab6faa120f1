/**
 * A record of every request the endpoint answered (or dropped), for tests and benchmarks
 * to assert on: which action, which group and targets, who called, and what came back.
 */

/** A target as named in a request (fields as sent; port absent when the caller left it out). */
export interface RequestLogTarget {
  readonly id: string;
  readonly port?: number;
  readonly az?: string;
}

/** One request. */
export interface RequestLogEntry {
  /** When the request arrived (ms since the epoch). */
  readonly time: number;
  /**
   * The same, to the microsecond (performance.timeOrigin + performance.now()): for latencies
   * measured from Docker's nanosecond event times (the bench), which a whole millisecond cut
   * short by up to 1 ms (0.5 ms on average) would understate.
   */
  readonly receivedAt: number;
  /** The `Action` parameter ('' when there was none). */
  readonly action: string;
  readonly targetGroupArn?: string;
  readonly targets?: readonly RequestLogTarget[];
  /** Access key id from the SigV4 credential, when there was one. */
  readonly caller?: string;
  /** HTTP status sent; 0 when the connection was dropped on purpose. */
  readonly status: number;
  /** AWS error code, for error responses. */
  readonly errorCode?: string;
  /** The action ran but its reply was not sent (an injected `responseLost`): `status` is what it would have been. */
  readonly replyLost?: true;
  readonly requestId: string;
}

/** An append-only list with a clear; `entries` is the same array for the log's whole life. */
export class RequestLog {
  /** The entries, oldest first. */
  readonly entries: RequestLogEntry[] = [];
  private readonly listeners: Array<(entry: RequestLogEntry) => void> = [];

  /** Appends an entry and tells the listeners. */
  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
    for (const listener of this.listeners) listener(entry);
  }

  /** Empties the log in place. */
  clear(): void {
    this.entries.length = 0;
  }

  /** Calls `listener` for each future entry (e.g. to write JSON lines to a file). */
  onEntry(listener: (entry: RequestLogEntry) => void): void {
    this.listeners.push(listener);
  }
}
