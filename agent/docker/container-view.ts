/**
 * The view of the running containers, as plain data: Docker events write it (container-watch.ts
 * says what each one means) and passes read it (docker-source.ts lists it). Neither side calls
 * the other: at a `kill`, the event's work ends in container-watch.ts and the pass's begins in
 * docker-source.ts.
 */
import type Dockerode from 'dockerode';
import type { DockerSnapshot, InspectDetails } from './container-snapshot.ts';
import type { Tracer } from '../trace.ts';

/** How long one Docker API call may take before the pass gives up on it (a hung engine must not block the loop). */
export const DOCKER_CALL_TIMEOUT_MS = 30_000;

/** What the view holds per container: its snapshot, and what an inspect told (kept for the container's life). */
export interface ViewEntry {
  readonly snapshot: DockerSnapshot;
  readonly stopSignal?: string;
  readonly details?: InspectDetails;
}

/** What events and listings share. A listing replaces `entries` whole: read it anew after every await. */
export interface ContainerView {
  entries: Map<string, ViewEntry>;
  /** Container id -> when the stop signal was seen (ns). */
  readonly stopping: Map<string, bigint>;
  /** Containers an event told about, with the number of that news: a listing that started before it must not undo it. */
  readonly news: Map<string, number>;
  /** The number of the latest news. */
  counter: number;
  /** The event stream is connected: every change from now on arrives as an event. */
  streaming: boolean;
  /** The view is complete: listed while the stream was connected, and the stream has not broken since. */
  warm: boolean;
  /** Set after the event stream reconnected: the next listing re-checks stop marks once. */
  recheckMarks: boolean;
  /** Containers created and not started yet: id -> labels and when (ms). */
  readonly pending: Map<string, { labels: Readonly<Record<string, string>>; createdAt: number }>;
}

/** An empty view: nothing listed, no event stream yet. */
export function emptyView(): ContainerView {
  return { entries: new Map(), stopping: new Map(), news: new Map(), counter: 0, streaming: false, warm: false, recheckMarks: false, pending: new Map() };
}

/** The view with how both sides reach Docker: one client, one call timeout, one clock (a create's time and its expiry). */
export interface ViewAccess {
  readonly view: ContainerView;
  readonly docker: Dockerode;
  readonly callTimeoutMs: number;
  readonly now: () => number;
  readonly tracer: Tracer;
}
