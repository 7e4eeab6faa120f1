/**
 * The container source over the Docker Engine API (dockerode): the view of the running
 * containers and its listing. The view is listed in full at start, on every periodic pass and
 * after the event stream was lost (with an inspect once per container life for what the listing
 * omits: host-network ports, an ECS task container's metadata id); in between, Docker events
 * keep it current one container at a time (container-watch.ts says what each one means), so a
 * pass after an event costs one inspect at most, whatever else lies around on the host.
 */
import type Dockerode from 'dockerode';
import type { ContainerActivity, ContainerSnapshot, ContainerSource } from '../core/container.ts';
import { inspectDetails, needsInspect, parseDockerTime, snapshotFromList, stopSignalOf } from './container-snapshot.ts';
import { DOCKER_CALL_TIMEOUT_MS, emptyView, type ContainerView, type ViewAccess, type ViewEntry } from './container-view.ts';
import { NO_TRACE, type Tracer } from '../trace.ts';

/** How long a created container counts as about to start (a container left created for longer is nobody's sibling). */
export const PENDING_START_MS = 30_000;

/** Lists running containers through dockerode, marking those a stop signal was sent to. */
export class DockerContainerSource implements ContainerSource, ViewAccess {
  /** What Docker events write (container-watch.ts's ContainerEvents, built from this source) and passes read. */
  readonly view: ContainerView = emptyView();

  constructor(
    readonly docker: Dockerode,
    readonly callTimeoutMs = DOCKER_CALL_TIMEOUT_MS,
    readonly now: () => number = Date.now,
    readonly tracer: Tracer = NO_TRACE,
  ) {}

  /** Containers about to start: the siblings a start may wait for. */
  activity(): ContainerActivity {
    const now = this.now();
    const { pending } = this.view;
    for (const [id, p] of pending) if (now - p.createdAt > PENDING_START_MS) pending.delete(id);
    return { pendingStarts: [...pending.values()] };
  }

  /** The running containers: from the view when it is warm, else (and when `fresh`) from a full listing. */
  async list(options: { fresh?: boolean } = {}): Promise<ContainerSnapshot[]> {
    if (options.fresh === true || !this.view.warm) await this.relist();
    const { entries, stopping } = this.view;
    const out: ContainerSnapshot[] = [];
    for (const [id, e] of entries) out.push({ ...e.snapshot, stopping: stopping.has(id) });
    return out;
  }

  private async relist(): Promise<void> {
    const view = this.view;
    const started = view.counter;
    const covered = view.streaming;
    const infos = await this.docker.listContainers({ all: false, abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
    const next = new Map<string, ViewEntry>();
    await Promise.all(infos.map(async (info) => next.set(info.Id, await this.fromList(info))));
    // What events said during the listing is newer than the listing.
    for (const [id, n] of view.news) {
      if (n <= started) {
        view.news.delete(id);
        continue;
      }
      const e = view.entries.get(id);
      if (e) next.set(id, e);
      else next.delete(id);
    }
    view.entries = next;
    // A mark stays while its container is listed, or while an event about it is still being taken in.
    for (const id of view.stopping.keys()) if (!next.has(id) && !view.news.has(id)) view.stopping.delete(id);
    if (view.recheckMarks) {
      // Only after a reconnect: inspecting a container Docker is tearing down waits for it, which would slow every kill.
      view.recheckMarks = false;
      await this.clearRestarted();
    }
    view.warm = covered && view.streaming;
  }

  private async fromList(info: Dockerode.ContainerInfo): Promise<ViewEntry> {
    const known = this.view.entries.get(info.Id);
    let details = known?.details;
    let stopSignal = known?.stopSignal;
    const networkMode = info.HostConfig?.NetworkMode ?? 'default';
    if (details === undefined && needsInspect(networkMode, info.Labels)) {
      // Once per container life. Host mode needs the ports (a failed inspect fails the listing); an ECS container's metadata id can wait for the next pass.
      const inspect = this.docker.getContainer(info.Id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
      const got = await (networkMode === 'host' ? inspect : inspect.catch(() => undefined));
      if (got) {
        details = inspectDetails(got);
        stopSignal = stopSignalOf(got);
      }
    }
    return { snapshot: snapshotFromList(info, details), ...(details ? { details } : {}), ...(stopSignal ? { stopSignal } : {}) };
  }

  /**
   * A container marked stopping that runs again (its `start` event was lost with the event
   * stream, e.g. across an engine restart) would otherwise stay deregistered for good: a
   * start after the mark clears it. Only marked containers are inspected, and they are few;
   * it runs once after each reconnect of the event stream.
   */
  private async clearRestarted(): Promise<void> {
    const stopping = this.view.stopping;
    await Promise.all(
      [...stopping].map(async ([id, markedAt]) => {
        const info = await this.docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) }).catch(() => undefined);
        const startedAt = parseDockerTime(info?.State.StartedAt);
        if (info?.State.Running && startedAt !== undefined && startedAt > markedAt) stopping.delete(id);
      }),
    );
  }
}
