/**
 * Follows the Docker engine's container events. When the stream breaks (engine restart,
 * socket gone) it reconnects with capped, jittered backoff and resumes with `since`, so
 * nothing in the gap is missed; after each reconnect it asks for a full resync.
 */
import type Dockerode from 'dockerode';
import type { ContainerEvent } from '../core/container.ts';
import { backoffDelay } from '../core/backoff.ts';
import { NO_TRACE, type Tracer } from '../trace.ts';

/** Container actions that can change what should be registered (`create`: a start is coming, so a burst's registrations travel together). */
export const RELEVANT_ACTIONS = new Set(['create', 'start', 'restart', 'kill', 'die', 'stop', 'destroy', 'pause', 'unpause']);

export interface EventWatcherHooks {
  /** Marks each event's arrival (bench --profile). */
  readonly tracer?: Tracer;
  onEvent(event: ContainerEvent): void;
  /** The stream (re)connected; the first call is the initial subscription. `since` is the resume point sent, if any. */
  onConnected(resumed: boolean, since?: string): void;
  /** The stream broke or a reconnect failed; `attempt` counts the failures in a row (1 = first). */
  onDisconnected(err: Error, retryInMs: number, attempt: number): void;
}

/** Reconnect backoff (full jitter): short enough that a restarted engine is seen within seconds. */
export const EVENT_BACKOFF = { baseMs: 500, capMs: 5_000 } as const;
/** How long the engine may take to accept a subscription before the attempt counts as failed. */
export const SUBSCRIBE_TIMEOUT_MS = 30_000;
/** A stream that lived this long before breaking was healthy: the backoff starts over. */
export const STABLE_STREAM_MS = 10_000;
/** How far before the first subscription a resume looks back when no event was seen yet (clock slack). */
const FIRST_SINCE_SLACK_NS = 1_000_000_000n;

/** Parses one line of Docker's event stream; undefined for anything not a container event. */
export function parseDockerEvent(line: string): ContainerEvent | undefined {
  let raw: {
    Type?: string;
    Action?: string;
    status?: string;
    id?: string;
    timeNano?: number | string;
    time?: number;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
  };
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  if (raw.Type !== undefined && raw.Type !== 'container') return undefined;
  const fullAction = raw.Action ?? raw.status ?? '';
  // health events read "health_status: healthy"; exec events "exec_start: sh -c ..."
  const action = fullAction.split(':')[0]?.trim() ?? '';
  const id = raw.Actor?.ID ?? raw.id;
  if (!id || !action) return undefined;
  // timeNano exceeds 2^53: read its digits from the text, not from the parsed (rounded) number.
  // The top-level field comes last (a label could carry the same name).
  const exact = [...line.matchAll(/"timeNano"\s*:\s*([0-9]+)/g)].at(-1)?.[1];
  const timeNano = exact !== undefined ? BigInt(exact) : BigInt(Math.trunc(Number(raw.time ?? 0))) * 1_000_000_000n;
  const attributes = raw.Actor?.Attributes ?? {};
  return {
    action,
    id,
    ...(attributes.name !== undefined ? { name: attributes.name } : {}),
    ...(attributes.signal !== undefined ? { signal: attributes.signal } : {}),
    // A `create` carries the container's labels (with `image` and `name`): which groups its start will concern.
    ...(action === 'create' ? { labels: attributes } : {}),
    timeNano,
  };
}

/** Formats a nanosecond time as Docker's `since` parameter ("seconds.nanoseconds"). */
export function sinceParam(timeNano: bigint): string {
  const seconds = timeNano / 1_000_000_000n;
  const nanos = (timeNano % 1_000_000_000n).toString().padStart(9, '0');
  return `${seconds}.${nanos}`;
}

/** A resilient subscription to container events. */
export class EventWatcher {
  private stream: NodeJS.ReadableStream | undefined;
  private abort: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Time of the last event seen, or of the first subscription: where a reconnect resumes. */
  private lastTimeNano: bigint | undefined;
  private failures = 0;
  private connectedAt = 0;
  private stopped = false;
  private connectedOnce = false;

  constructor(
    private readonly docker: Dockerode,
    private readonly hooks: EventWatcherHooks,
    private readonly backoff: { baseMs: number; capMs: number } = EVENT_BACKOFF,
    private readonly subscribeTimeoutMs = SUBSCRIBE_TIMEOUT_MS,
  ) {}

  /** Subscribes; resolves once the engine accepted the subscription (or rejects on the first failure). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** After a failed start: keep trying in the background with backoff. */
  retryLater(err: Error): void {
    this.scheduleReconnect(err);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.detach();
  }

  private async connect(): Promise<void> {
    const resumed = this.connectedOnce || this.failures > 0;
    const since = this.lastTimeNano !== undefined ? sinceParam(this.lastTimeNano + 1n) : undefined;
    const subscribedAt = BigInt(Date.now()) * 1_000_000n;
    // One controller per connection: it bounds the wait for the engine's answer and tears the stream down on detach.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`Docker did not accept the event subscription within ${this.subscribeTimeoutMs} ms`)), this.subscribeTimeoutMs);
    timer.unref?.();
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.getEvents({
        filters: JSON.stringify({ type: ['container'] }),
        ...(since !== undefined ? { since } : {}),
        abortSignal: abort.signal,
      } as Dockerode.GetEventsOptions)) as NodeJS.ReadableStream;
    } catch (err) {
      throw abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason : err;
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) {
      abort.abort();
      (stream as unknown as { destroy?: () => void }).destroy?.();
      return;
    }
    this.stream = stream;
    this.abort = abort;
    this.connectedOnce = true;
    this.connectedAt = Date.now();
    // Nothing seen yet: a later reconnect resumes from this subscription (minus clock slack), not from "now".
    this.lastTimeNano ??= subscribedAt - FIRST_SINCE_SLACK_NS;
    let buffer = '';
    stream.on('data', (chunk: Buffer | string) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) this.handleLine(line);
      }
    });
    const onBroken = (err?: Error) => this.scheduleReconnect(err ?? new Error('Docker event stream ended'), stream);
    stream.on('error', onBroken);
    stream.on('end', () => onBroken());
    stream.on('close', () => onBroken());
    this.hooks.onConnected(resumed, since);
  }

  private handleLine(line: string): void {
    const event = parseDockerEvent(line);
    if (!event) return;
    if (this.lastTimeNano === undefined || event.timeNano > this.lastTimeNano) this.lastTimeNano = event.timeNano;
    if (RELEVANT_ACTIONS.has(event.action) || event.action === 'health_status') {
      (this.hooks.tracer ?? NO_TRACE).step('event', `${event.action} ${event.id} ${event.timeNano}`);
      this.hooks.onEvent(event);
    }
  }

  private detach(): void {
    const stream = this.stream;
    const abort = this.abort;
    this.stream = undefined;
    this.abort = undefined;
    if (stream) {
      stream.removeAllListeners();
      stream.on('error', () => undefined);
    }
    abort?.abort();
    (stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
  }

  private scheduleReconnect(err: Error, from?: NodeJS.ReadableStream): void {
    if (this.stopped || (from !== undefined && from !== this.stream) || this.retryTimer) return;
    this.detach();
    // A stream the engine accepts and drops at once keeps backing off; one that served a while starts over.
    if (from !== undefined && Date.now() - this.connectedAt >= STABLE_STREAM_MS) this.failures = 0;
    const delay = backoffDelay(this.failures++, this.backoff.baseMs, this.backoff.capMs);
    this.hooks.onDisconnected(err, delay, this.failures);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch((e: unknown) => this.scheduleReconnect(e instanceof Error ? e : new Error(String(e))));
    }, delay);
    this.retryTimer.unref?.();
  }
}
