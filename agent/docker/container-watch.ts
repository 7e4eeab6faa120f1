/**
 * What Docker's container events mean for the view (container-view.ts), and the event stream
 * hooked to it. Each event updates only its own container (an inspect after `start`, `restart`,
 * `unpause`, `pause` and health changes; nothing at all after `kill`, `die`, `stop` and
 * `destroy`) and asks for a pass through `trigger`; the stream's connects and losses tell the
 * view when it is complete. The pass reads the view through the source (docker-source.ts);
 * `run` wires the watcher to the loop.
 */
import type Dockerode from 'dockerode';
import type { ContainerEvent } from '../core/container.ts';
import type { Log } from '../log.ts';
import type { Tracer } from '../trace.ts';
import { inspectDetails, snapshotFromInspect, stopSignalOf } from './container-snapshot.ts';
import type { ContainerView, ViewAccess, ViewEntry } from './container-view.ts';
import { EventWatcher } from './event-watcher.ts';
import { isStopSignal, sameSignal } from './stop-signals.ts';

/** Takes Docker events into the view: what the pass will read, marks of stop signals included. */
export class ContainerEvents {
  private readonly view: ContainerView;
  private readonly docker: Dockerode;
  private readonly callTimeoutMs: number;
  private readonly now: () => number;
  private readonly tracer: Tracer;

  /** `access`: the source whose view the events update (the same client, call timeout and clock). */
  constructor(access: ViewAccess) {
    this.view = access.view;
    this.docker = access.docker;
    this.callTimeoutMs = access.callTimeoutMs;
    this.now = access.now;
    this.tracer = access.tracer;
  }

  /**
   * Takes a Docker event into the view and calls `trigger` once a pass should look again.
   * A `kill` with a stop signal marks the container at once (it leaves the desired set while
   * it still serves its last requests); one with another signal counts only when it is the
   * container's own STOPSIGNAL.
   */
  observe(e: ContainerEvent, trigger: (reason: string) => void): void {
    const reason = `event:${e.action}`;
    const view = this.view;
    if (e.action !== 'create') view.pending.delete(e.id);
    switch (e.action) {
      case 'create':
        // Nothing to register yet; its start comes (and its group's registrations may wait for it, start-gathering.ts).
        view.pending.set(e.id, { labels: e.labels ?? {}, createdAt: this.now() });
        return;
      case 'kill': {
        if (isStopSignal(e.signal) || sameSignal(view.entries.get(e.id)?.stopSignal, e.signal)) {
          this.markStopping(e.id, e.timeNano);
          trigger(reason);
        } else if (view.entries.get(e.id)?.stopSignal === undefined) {
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
        view.entries.delete(e.id);
        trigger(reason);
        return;
      case 'destroy':
        this.forget(e.id);
        trigger(reason);
        return;
      default:
        if (e.action === 'start' || e.action === 'restart' || e.action === 'unpause') view.stopping.delete(e.id);
        void this.refresh(e.id).then((current) => {
          if (current) trigger(reason);
        });
    }
  }

  /** The event stream is connected (`resumed`: again, after it broke: lost `start` events mean stop marks are re-checked). */
  connected(resumed: boolean): void {
    this.view.streaming = true;
    if (!resumed) return;
    this.view.warm = false;
    this.view.recheckMarks = true;
  }

  /** The event stream broke: until it is back, every pass lists. */
  disconnected(): void {
    this.view.streaming = false;
    this.view.warm = false;
    // Their starts may never be seen: nothing is held for them.
    this.view.pending.clear();
  }

  /**
   * Whether `signal` is the container's own stop signal (Config.StopSignal, e.g. SIGWINCH for
   * httpd, SIGQUIT for nginx): `docker stop` and ECS send that one instead of SIGTERM.
   */
  private async isOwnStopSignal(id: string, signal: string | undefined): Promise<boolean> {
    try {
      const inspect = await this.docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
      return sameSignal(stopSignalOf(inspect), signal);
    } catch {
      return false;
    }
  }

  /** Records a stop signal (at `kill`, time of the event) so the container leaves the desired set at once. */
  private markStopping(id: string, timeNano: bigint): void {
    this.view.stopping.set(id, timeNano);
  }

  /** Drops what is known about a removed container. */
  private forget(id: string): void {
    this.recordNews(id);
    this.view.stopping.delete(id);
    this.view.entries.delete(id);
  }

  private recordNews(id: string): number {
    const n = ++this.view.counter;
    this.view.news.set(id, n);
    return n;
  }

  /** Re-reads one container after an event; false when a later event about it overtook this one (that one triggers). */
  private async refresh(id: string): Promise<boolean> {
    const n = this.recordNews(id);
    let entry: ViewEntry | undefined;
    try {
      const inspect = await this.docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(this.callTimeoutMs) });
      const snapshot = snapshotFromInspect(inspect);
      const stopSignal = stopSignalOf(inspect);
      if (snapshot) entry = { snapshot, ...(stopSignal ? { stopSignal } : {}), details: inspectDetails(inspect) };
    } catch {
      // Gone already (removed right after the event): the listing has no entry for it either.
      entry = undefined;
    }
    this.tracer.step('inspected', id);
    if (this.view.news.get(id) !== n) return false;
    // The view's entries as they are now: a listing may have replaced them during the inspect.
    if (entry) this.view.entries.set(id, entry);
    else this.view.entries.delete(id);
    return true;
  }
}

export interface ContainerWatchOptions {
  readonly docker: Dockerode;
  /** The source whose view the events update (docker-source.ts's DockerContainerSource). */
  readonly containers: ViewAccess;
  /** Asks for a reconcile pass (the loop's trigger). */
  readonly trigger: (reason: string) => void;
  readonly log: Log;
  readonly tracer: Tracer;
  /** The engine answered (the metrics' last Docker contact). */
  readonly onDockerOk: () => void;
}

/** Builds the watcher that takes Docker's container events into the source's view; `start()` subscribes. */
export function watchContainers(options: ContainerWatchOptions): EventWatcher {
  const { trigger, log } = options;
  const events = new ContainerEvents(options.containers);
  return new EventWatcher(options.docker, {
    tracer: options.tracer,
    onEvent: (e) => {
      log.debug(`docker ${e.action} ${e.name ?? e.id.slice(0, 12)}`, { event: 'docker-event', action: e.action, containerId: e.id.slice(0, 12) });
      events.observe(e, trigger);
    },
    onConnected: (resumed, since) => {
      options.onDockerOk();
      events.connected(resumed);
      if (resumed) {
        log.info(`Docker event stream reconnected${since !== undefined ? `, resuming events since ${since}` : ''}; resyncing`, { event: 'docker-reconnected', ...(since !== undefined ? { since } : {}) });
        trigger('docker-reconnected');
      }
    },
    // While the engine stays away: the first failure and every 10th are warnings, the rest debug.
    onDisconnected: (err, retryInMs, attempt) => {
      events.disconnected();
      log[attempt === 1 || attempt % 10 === 0 ? 'warn' : 'debug'](`Docker event stream lost (${err.message}); reconnecting in ${retryInMs} ms (attempt ${attempt})`, { event: 'docker-disconnected', retryInMs, attempt });
    },
  });
}
