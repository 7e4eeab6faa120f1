/**
 * Follows the Docker engine's container events. When the stream breaks (engine restart,
 * socket gone) it reconnects with capped, jittered backoff and resumes with `since`, so
 * nothing in the gap is missed; after each reconnect it asks for a full resync.
 */
import type Dockerode from 'dockerode';
import type { ContainerEvent } from './container.ts';
import { backoffDelay } from '../reconcile/backoff.ts';

/** Container actions that can change what should be registered. */
export const RELEVANT_ACTIONS = new Set(['start', 'restart', 'kill', 'die', 'stop', 'destroy', 'pause', 'unpause']);

export interface EventWatcherHooks {
  onEvent(event: ContainerEvent): void;
  /** The stream (re)connected; the first call is the initial subscription. */
  onConnected(resumed: boolean): void;
  onDisconnected(err: Error, retryInMs: number): void;
}

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
  if (raw.Type !== undefined && raw.Type !== 'container') return undefined;
  const fullAction = raw.Action ?? raw.status ?? '';
  // health events read "health_status: healthy"; exec events "exec_start: sh -c ..."
  const action = fullAction.split(':')[0]?.trim() ?? '';
  const id = raw.Actor?.ID ?? raw.id;
  if (!id || !action) return undefined;
  const timeNano = raw.timeNano !== undefined ? BigInt(raw.timeNano) : BigInt(raw.time ?? 0) * 1_000_000_000n;
  const attributes = raw.Actor?.Attributes ?? {};
  return {
    action,
    id,
    ...(attributes.name !== undefined ? { name: attributes.name } : {}),
    ...(attributes.signal !== undefined ? { signal: attributes.signal } : {}),
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
  private retryTimer: NodeJS.Timeout | undefined;
  private lastTimeNano: bigint | undefined;
  private failures = 0;
  private stopped = false;
  private connectedOnce = false;

  constructor(
    private readonly docker: Dockerode,
    private readonly hooks: EventWatcherHooks,
    private readonly backoff = { baseMs: 500, capMs: 15_000 },
  ) {}

  /** Subscribes; resolves once the engine accepted the subscription (or rejects on the first failure). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** After a failed start: keep trying in the background with backoff. */
  retryLater(err: Error): void {
    this.scheduleReconnect(err);
  }

  /** Whether the event stream is currently open. */
  get connected(): boolean {
    return this.stream !== undefined;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.detach();
  }

  private async connect(): Promise<void> {
    const resumed = this.connectedOnce || this.failures > 0;
    const since = this.lastTimeNano !== undefined ? sinceParam(this.lastTimeNano + 1n) : undefined;
    const stream = (await this.docker.getEvents({
      filters: JSON.stringify({ type: ['container'] }),
      ...(since !== undefined ? { since } : {}),
    } as Dockerode.GetEventsOptions)) as NodeJS.ReadableStream;
    if (this.stopped) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      return;
    }
    this.stream = stream;
    this.connectedOnce = true;
    this.failures = 0;
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
    this.hooks.onConnected(resumed);
  }

  private handleLine(line: string): void {
    const event = parseDockerEvent(line);
    if (!event) return;
    if (this.lastTimeNano === undefined || event.timeNano > this.lastTimeNano) this.lastTimeNano = event.timeNano;
    if (RELEVANT_ACTIONS.has(event.action) || event.action === 'health_status') this.hooks.onEvent(event);
  }

  private detach(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      stream.removeAllListeners();
      stream.on('error', () => undefined);
      (stream as unknown as { destroy?: () => void }).destroy?.();
    }
  }

  private scheduleReconnect(err: Error, from?: NodeJS.ReadableStream): void {
    if (this.stopped || (from !== undefined && from !== this.stream) || this.retryTimer) return;
    this.detach();
    const delay = backoffDelay(this.failures++, this.backoff.baseMs, this.backoff.capMs);
    this.hooks.onDisconnected(err, delay);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch((e: unknown) => this.scheduleReconnect(e instanceof Error ? e : new Error(String(e))));
    }, delay);
    this.retryTimer.unref?.();
  }
}
