/**
 * The container source over the Docker Engine API (dockerode), and the one home of what
 * Docker events mean for it. It keeps a view of the running containers: a full listing at
 * start, on every periodic pass and after the event stream was lost (with an inspect once per
 * container life for what the listing omits: host-network ports, an ECS task container's
 * metadata id); in between, each event
 * updates only its own container (an inspect after `start`, `restart`, `unpause`, `pause`
 * and health changes; nothing at all after `kill`, `die`, `stop` and `destroy`), so a pass
 * after an event costs one inspect at most, whatever else lies around on the host.
 */
import type Dockerode from 'dockerode';
import type { ContainerActivity, ContainerEvent, ContainerSnapshot, ContainerSource } from '../core/container.ts';
import { inspectDetails, needsInspect, parseDockerTime, snapshotFromInspect, snapshotFromList, type DockerSnapshot, type InspectDetails } from './container-snapshot.ts';
import { isStopSignal, sameSignal } from './stop-signals.ts';
import { NO_TRACE, type Tracer } from '../trace.ts';

/** How long one Docker API call may take before the pass gives up on it (a hung engine must not block the loop). */
export const DOCKER_CALL_TIMEOUT_MS = 30_000;

/** How long a created container counts as about to start (a container left created for longer is nobody's sibling). */
export const PENDING_START_MS = 30_000;

/** What the view holds per container: its snapshot, and what an inspect told (kept for the container's life). */
interface Entry {
  readonly snapshot: DockerSnapshot;
  readonly stopSignal?: string;
  readonly details?: InspectDetails;
}

/** Lists running containers through dockerode, marking those a stop signal was sent to. */
export class DockerContainerSource implements ContainerSource {
  /** Container id -> when the stop signal was seen (ns). */
  private readonly stopping = new Map<string, bigint>();
  private entries = new Map<string, Entry>();
  /** Containers an event told about, with the number of that news: a listing that started before it must not undo it. */
  private readonly news = new Map<string, number>();
  private counter = 0;
  /** The event stream is connected: every change from now on arrives as an event. */
  private streaming = false;
  /** The view is complete: listed while the stream was connected, and the stream has not broken since. */
  private warm = false;
  /** Set after the event stream reconnected: the next listing re-checks stop marks once. */
  private recheckMarks = false;
  /** Containers created and not started yet: id -> labels and when (ms). */
  private readonly pending = new Map<string, { labels: Readonly<Record<string, string>>; createdAt: number }>();

  constructor(
    private readonly docker: Dockerode,
    private readonly callTimeoutMs = DOCKER_CALL_TIMEOUT_MS,
    private readonly now: () => number = Date.now,
    private readonly tracer: Tracer = NO_TRACE,
  ) {}

  /**
   * Takes a Docker event into the view and calls `trigger` once a pass should look again.
   * A `kill` with a stop signal marks the container at once (it leaves the desired set while
   * it still serves its last requests); one with another signal counts only when it is the
   * container's own STOPSIGNAL.
   */
  observe(e: ContainerEvent, trigger: (reason: string) => void): void {
    const reason = `event:${e.action}`;
    if (e.action !== 'create') this.pending.delete(e.id);
    switch (e.action) {
      case 'create':
        // Nothing to register yet; its start comes (and its group's registrations may wait for it, start-gathering.ts).
        this.pending.set(e.id, { labels: e.labels ?? {}, createdAt: this.now() });
        return;
      case 'kill': {
        if (isStopSignal(e.signal) || sameSignal(this.entries.get(e.id)?.stopSignal, e.signal)) {
          this.markStopping(e.id, e.timeNano);
          trigger(reason);
        } else if (this.entries.get(e.id)?.stopSignal === undefined) {
          void this.isOwnStopSignal(e.id, e.signal).then((own) => {
            if (!own) return;
            this.markStopping(e.id, e.timeNano);
            trigger(reason);
          });
        }
        return;
      }
      case 'die':
      case 'stop':
        this.recordNews(e.id);
        this.entries.delete(e.id);
        trigger(reason);
        return;
      case 'destroy':
        this.forget(e.id);
        trigger(reason);
        return;
      default:
        if (e.action === 'start' || e.action === 'restart' || e.action === 'unpause') this.stopping.delete(e.id);
        void this.refresh(e.id).then((current) => {
          if (current) trigger(reason);
        });
    }
  }

  /** Containers about to start: the siblings a start may wait for. */
  activity(): ContainerActivity {
    const now = this.now();
    for (const [id, p] of this.pending) if (now - p.createdAt > PENDING_START_MS) this.pending.delete(id);
    return { pendingStarts: [...this.pending.values()] };
  }

  /** The event stream is connected (`resumed`: again, after it broke: lost `start` events mean stop marks are re-checked). */
  connected(resumed: boolean): void {
    this.streaming = true;
    if (!resumed) return;
    this.warm = false;
    this.recheckMarks = true;
  }

  /** The event stream broke: until it is back, every pass lists. */
  disconnected(): void {
    this.streaming = false;
    this.warm = false;
    // Their starts may never be seen: nothing is held for them.
    this.pending.clear();
  }

  /**
   * Whether `signal` is the container's own stop signal (Config.StopSignal, e.g. SIGWINCH for
   * httpd, SIGQUIT for nginx): `docker stop` and ECS send that one instead of SIGTERM.
   */
  async isOwnStopSignal(id: string, signal: string | undefined): Promise<boolean> {
    try {
      const inspect = await this.docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
      return sameSignal((inspect.Config as { StopSignal?: string } | undefined)?.StopSignal, signal);
    } catch {
      return false;
    }
  }

  /** Records a stop signal (at `kill`, time of the event) so the container leaves the desired set at once. */
  markStopping(id: string, timeNano: bigint = BigInt(Date.now()) * 1_000_000n): void {
    this.stopping.set(id, timeNano);
  }

  /** Drops what is known about a removed container. */
  forget(id: string): void {
    this.recordNews(id);
    this.stopping.delete(id);
    this.entries.delete(id);
  }

  /** The running containers: from the view when it is warm, else (and when `fresh`) from a full listing. */
  async list(options: { fresh?: boolean } = {}): Promise<ContainerSnapshot[]> {
    if (options.fresh === true || !this.warm) await this.relist();
    const out: ContainerSnapshot[] = [];
    for (const [id, e] of this.entries) out.push({ ...e.snapshot, stopping: this.stopping.has(id) });
    return out;
  }

  private recordNews(id: string): number {
    const n = ++this.counter;
    this.news.set(id, n);
    return n;
  }

  /** Re-reads one container after an event; false when a later event about it overtook this one (that one triggers). */
  private async refresh(id: string): Promise<boolean> {
    const n = this.recordNews(id);
    let entry: Entry | undefined;
    try {
      const inspect = await this.docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
      const snapshot = snapshotFromInspect(inspect);
      const stopSignal = (inspect.Config as { StopSignal?: string } | undefined)?.StopSignal;
      if (snapshot) entry = { snapshot, ...(stopSignal ? { stopSignal } : {}), details: inspectDetails(inspect) };
    } catch {
      // Gone already (removed right after the event): the listing has no entry for it either.
      entry = undefined;
    }
    this.tracer.step('inspected', id);
    if (this.news.get(id) !== n) return false;
    if (entry) this.entries.set(id, entry);
    else this.entries.delete(id);
    return true;
  }

  private async relist(): Promise<void> {
    const started = this.counter;
    const covered = this.streaming;
    const infos = await this.docker.listContainers({ all: false, abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
    const next = new Map<string, Entry>();
    await Promise.all(infos.map(async (info) => next.set(info.Id, await this.fromList(info))));
    // What events said during the listing is newer than the listing.
    for (const [id, n] of this.news) {
      if (n <= started) {
        this.news.delete(id);
        continue;
      }
      const e = this.entries.get(id);
      if (e) next.set(id, e);
      else next.delete(id);
    }
    this.entries = next;
    // A mark stays while its container is listed, or while an event about it is still being taken in.
    for (const id of this.stopping.keys()) if (!next.has(id) && !this.news.has(id)) this.stopping.delete(id);
    if (this.recheckMarks) {
      // Only after a reconnect: inspecting a container Docker is tearing down waits for it, which would slow every kill.
      this.recheckMarks = false;
      await this.clearRestarted();
    }
    this.warm = covered && this.streaming;
  }

  private async fromList(info: Dockerode.ContainerInfo): Promise<Entry> {
    const known = this.entries.get(info.Id);
    let details = known?.details;
    let stopSignal = known?.stopSignal;
    const networkMode = info.HostConfig?.NetworkMode ?? 'default';
    if (details === undefined && needsInspect(networkMode, info.Labels)) {
      // Once per container life. Host mode needs the ports (a failed inspect fails the listing); an ECS container's metadata id can wait for the next pass.
      const inspect = this.docker.getContainer(info.Id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
      const got = await (networkMode === 'host' ? inspect : inspect.catch(() => undefined));
      if (got) {
        details = inspectDetails(got);
        stopSignal = (got.Config as { StopSignal?: string } | undefined)?.StopSignal || undefined;
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
    await Promise.all(
      [...this.stopping].map(async ([id, markedAt]) => {
        const info = await this.docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) }).catch(() => undefined);
        const startedAt = parseDockerTime(info?.State.StartedAt);
        if (info?.State.Running && startedAt !== undefined && startedAt > markedAt) this.stopping.delete(id);
      }),
    );
  }
}
