/**
 * The Docker event stream hooked to the container source: every event goes to the source
 * (docker-source.ts says what it means and asks for a pass through `trigger`), and the stream's
 * connects and losses tell the source when its view is complete. `run` wires it to the loop.
 */
import type Dockerode from 'dockerode';
import type { Log } from '../log.ts';
import type { Tracer } from '../trace.ts';
import type { DockerContainerSource } from './docker-source.ts';
import { EventWatcher } from './event-watcher.ts';

export interface ContainerWatchOptions {
  readonly docker: Dockerode;
  readonly containers: DockerContainerSource;
  /** Asks for a reconcile pass (the loop's trigger). */
  readonly trigger: (reason: string) => void;
  readonly log: Log;
  readonly tracer: Tracer;
  /** The engine answered (the metrics' last Docker contact). */
  readonly onDockerOk: () => void;
}

/** Builds the watcher that feeds Docker's container events to the source; `start()` subscribes. */
export function watchContainers(options: ContainerWatchOptions): EventWatcher {
  const { containers, trigger, log } = options;
  return new EventWatcher(options.docker, {
    tracer: options.tracer,
    onEvent: (e) => {
      log.debug(`docker ${e.action} ${e.name ?? e.id.slice(0, 12)}`, { event: 'docker-event', action: e.action, containerId: e.id.slice(0, 12) });
      containers.observe(e, trigger);
    },
    onConnected: (resumed, since) => {
      options.onDockerOk();
      containers.connected(resumed);
      if (resumed) {
        log.info(`Docker event stream reconnected${since !== undefined ? `, resuming events since ${since}` : ''}; resyncing`, { event: 'docker-reconnected', ...(since !== undefined ? { since } : {}) });
        trigger('docker-reconnected');
      }
    },
    // While the engine stays away: the first failure and every 10th are warnings, the rest debug.
    onDisconnected: (err, retryInMs, attempt) => {
      containers.disconnected();
      log[attempt === 1 || attempt % 10 === 0 ? 'warn' : 'debug'](`Docker event stream lost (${err.message}); reconnecting in ${retryInMs} ms (attempt ${attempt})`, { event: 'docker-disconnected', retryInMs, attempt });
    },
  });
}
