/**
 * `run`: the daemon's wiring. Subscribes to Docker events before the first listing, reconciles
 * once, then on every relevant event, address change and periodic tick. Docker events update
 * the container source's view (docker/container-watch.ts says what they mean, stop marks
 * included) and ask for a pass; address changes come from the address watcher
 * (host/address-watcher.ts).
 * On SIGTERM it stops watching, finishes the pass in flight, and keeps or deregisters this
 * host's targets per --on-exit (on-exit.ts).
 */
import { describeConfig } from '../config.ts';
import { unknownWarning, type UnknownName } from '../config-file.ts';
import { watchContainers } from '../docker/container-watch.ts';
import { errorMessage } from '../errors.ts';
import { AddressWatcher } from '../host/address-watcher.ts';
import { HeapTrim, lastResortCollector } from '../host/heap-trim.ts';
import { watchFileChanges } from '../host/file-change.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import { defaultBridgeGateway } from '../docker/bridge-gateway.ts';
import { startGateServer } from '../readiness/gate-server.ts';
import { DEFAULT_READINESS_PORT } from '../config-readers.ts';
import type { PassResult, Reconciler } from '../reconcile/reconciler.ts';
import { ReconcileLoop, type LoopOptions } from '../reconcile/loop.ts';
import type { HeldChange } from '../reconcile/held-change.ts';
import { HeldFile, type HeldEntry } from '../state/held-file.ts';
import type Dockerode from 'dockerode';
import type { DockerContainerSource } from '../docker/docker-source.ts';
import type { EventWatcher } from '../docker/event-watcher.ts';
import type { Log } from '../log.ts';
import type { Tracer } from '../trace.ts';
import { AGENT_COMMIT, AGENT_VERSION } from '../version.ts';
import { leaveOnExit } from './on-exit.ts';
import type { Parts } from './parts.ts';
import type { AddressAttribute } from '../ecs/address-attribute.ts';
import { EXIT_FAILURE } from '../exit-codes.ts';
import { DEFAULT_RETRY } from '../core/backoff.ts';

/** Runs until SIGTERM/SIGINT; resolves to the exit code. `unknown`: ECS_ANYWHERE_LB_* names that set nothing, warned about at start. */
export async function runAgent(parts: Parts, unknown: readonly UnknownName[] = []): Promise<number> {
  const { config, log, reconciler, containers, metrics } = parts;
  log.info('starting', { event: 'start', version: AGENT_VERSION, commit: AGENT_COMMIT, config: describeConfig(config), credentials: parts.credentials.source });
  for (const u of unknown) log.warn(unknownWarning(u), { event: 'config-warning', name: u.name, where: u.where });
  if (config.allowAnyTargetGroup) log.warn('--allow-any-target-group: any container can put this host into any target group its labels name', { event: 'config-warning' });

  try {
    // A state file that cannot be used is moved aside and the agent starts over (it never exits for it).
    await reconciler.currentState();
  } catch (err) {
    // Only a passing condition gets here (no file descriptors left): the passes load it again, with backoff.
    log.error(`cannot load state yet: ${errorMessage(err)}; the reconcile passes try again`, { event: 'state-load-failed', error: errorMessage(err) });
  }

  const heap = heapTrim(parts);
  const attribute = await addressAttribute(parts);
  // What the policies hold, for `status` (a process of its own); --dry-run leaves the state directory alone.
  const held = config.dryRun ? undefined : new HeldFile(config.stateDir, log);
  const observe = passObserver(parts, held);
  const { loop, watcher, trigger } = wireLoop({
    docker: parts.docker, containers, reconciler, log, tracer: parts.tracer, intervalMs: config.reconcileIntervalMs, retryMaxDelayMs: config.retryMaxDelayMs,
    onDockerOk: () => metrics.dockerAnswered(),
    onPass: (result, ms, error) => {
      observe(result, ms, error);
      heap?.activity();
      attribute?.publish(result?.address);
    },
  });
  // Subscribe before the first listing so nothing that happens in between is missed.
  await watcher.start().catch((err: unknown) => {
    log.warn(`cannot reach Docker yet (${errorMessage(err)}); will keep trying`, { event: 'docker-unavailable' });
    watcher.retryLater(err instanceof Error ? err : new Error(String(err)));
  });
  // Its first look comes before the first pass, so a change between that pass and the next look still triggers one.
  // A fixed --host-ip never changes: nothing to watch.
  const address = config.hostIp === undefined ? new AddressWatcher({ addresses: parts.addresses, pollIntervalMs: config.addressCheckIntervalMs, log, onChange: () => trigger('address-change') }) : undefined;
  await address?.start();
  trigger('startup');
  loop.startPeriodic();

  // A changed mapping file is read again (a bad version keeps the last good rules) and reconciled at once.
  const mapping = parts.mapping;
  const mappingWatch = mapping ? watchFileChanges(mapping.path, () => void mapping.reload().then((changed) => changed && trigger('mapping-file-changed'))) : undefined;

  const server = config.metricsAddress ? await startMetricsServer(config.metricsAddress, metrics, log.child({ component: 'metrics' }), config.healthThresholdMs) : undefined;
  const gate = await startGate(parts);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info(`received ${signal}; stopping`, { event: 'stopping', signal, onExit: config.onExit });
  watcher.stop();
  heap?.stop();
  address?.stop();
  mappingWatch?.stop();
  await loop.stop();
  await attribute?.stop();
  let code = await leaveOnExit(parts);
  await held?.remove();
  await reconciler.flush().catch((err: unknown) => {
    log.error(`cannot write state: ${errorMessage(err)}`, { event: 'state-write-failed' });
    code = EXIT_FAILURE;
  });
  await server?.close();
  await gate?.close();
  log.info('stopped', { event: 'stopped', exitCode: code });
  return code;
}

/** What the loop and the Docker watcher are built from. */
export interface LoopWiring {
  readonly docker: Dockerode;
  readonly containers: DockerContainerSource;
  readonly reconciler: Reconciler;
  readonly log: Log;
  readonly tracer: Tracer;
  readonly intervalMs: number;
  readonly retryMaxDelayMs: number;
  readonly onDockerOk: () => void;
  readonly onPass?: LoopOptions['onPass'];
  /** The loop's timers: the process's own unless given (scripts/bench/kill-walk.ts holds them, for a quiet agent). */
  readonly timers?: LoopOptions['timers'];
}

/** The loop and the Docker watcher, wired as `run` runs them (scripts/bench/kill-walk.ts measures this path): each event asks for a pass. */
export function wireLoop(w: LoopWiring): { loop: ReconcileLoop; watcher: EventWatcher; trigger: (reason: string) => void } {
  const { reconciler, log } = w;
  const loop = new ReconcileLoop({
    // Bound methods, not closures here: an event goes source -> loop -> reconciler without coming back through this file.
    pass: reconciler.reconcile.bind(reconciler),
    log,
    intervalMs: w.intervalMs,
    retry: { baseMs: DEFAULT_RETRY.baseMs, capMs: w.retryMaxDelayMs },
    ...(w.onPass ? { onPass: w.onPass } : {}),
    ...(w.timers ? { timers: w.timers } : {}),
  });
  const trigger = loop.trigger.bind(loop);
  const watcher = watchContainers({ docker: w.docker, containers: w.containers, trigger, log, tracer: w.tracer, onDockerOk: w.onDockerOk });
  return { loop, watcher, trigger };
}

/** What each pass tells the metrics and `status` (the changes held), and the `ready` line after the first good pass. */
export function passObserver(parts: Parts, held: HeldFile | undefined): (result: PassResult | undefined, ms: number, error?: unknown) => void {
  const { metrics, log } = parts;
  let firstPass = true;
  return (result, ms, error) => {
    if (!result) {
      metrics.passFailed(ms);
      return;
    }
    metrics.passCompleted(result, ms);
    metrics.paceAndReads(parts.pace.rates(), result.driftRepairIntervalMs);
    held?.publish(heldEntries(result.held ?? []));
    if (firstPass && error === undefined) {
      firstPass = false;
      log.info('first reconcile done', { event: 'ready', durationMs: Math.round(ms), ownedTargets: result.ownedTargets, uptimeMs: Math.round(process.uptime() * 1000) });
    }
  };
}

/** The policies' held changes as `status` shows them (state/held-file.ts). */
function heldEntries(held: readonly HeldChange[]): HeldEntry[] {
  return held.map((h) => ({
    targetGroupArn: h.targetGroupArn, change: h.change, target: `${h.target.id}:${h.target.port}`, why: h.why,
    ...(h.until !== undefined ? { until: new Date(h.until).toISOString() } : {}),
  }));
}

/** The address attribute on this host's container instance (ecs/address-attribute.ts); none with --ecs-introspection-endpoint off or --dry-run. */
async function addressAttribute(parts: Parts): Promise<AddressAttribute | undefined> {
  const endpoint = parts.config.ecsIntrospectionEndpoint;
  if (endpoint === undefined || parts.config.dryRun) return undefined;
  const [{ AddressAttribute }, { ApiPace }, { ECS_API_LIMITS, createEcsApi, regionOfEcsArn }, { readContainerInstance }] = await Promise.all([
    import('../ecs/address-attribute.ts'), import('../fleet/api-pace.ts'), import('../ecs/ecs-api.ts'), import('../ecs/introspection.ts'),
  ]);
  const pace = new ApiPace({ limits: ECS_API_LIMITS, fleetSize: parts.config.fleetSize });
  // One client, in the region of the container instance (known after the first introspection).
  let ecs: ReturnType<typeof createEcsApi> | undefined;
  return new AddressAttribute({
    identity: () => readContainerInstance(endpoint),
    put: async (id, name, value) => {
      ecs ??= createEcsApi({ credentials: parts.credentials.provider, pace, region: regionOfEcsArn(id.containerInstanceArn) ?? '' });
      await (await ecs).putAttribute(id.cluster, id.containerInstanceArn, name, value);
    },
    log: parts.log.child({ component: 'ecs' }),
    retry: { baseMs: DEFAULT_RETRY.baseMs, capMs: Math.max(60_000, parts.config.retryMaxDelayMs) },
  });
}

/** Heap pages given back once a busy spell is over (host/heap-trim.ts); off without --expose-gc (the bundle run by a plain `node`). */
function heapTrim(parts: Parts): HeapTrim | undefined {
  const collect = lastResortCollector();
  if (!collect) {
    parts.log.debug('heap trim off: started without --expose-gc', { event: 'heap-trim-off' });
    return undefined;
  }
  const mib = (bytes: number) => Math.round(bytes / 104857.6) / 10;
  return new HeapTrim({
    collect,
    onTrim: (t) => parts.log.debug(`heap trimmed after a busy spell: ${mib(t.beforeBytes)} -> ${mib(t.afterBytes)} MiB resident in ${Math.round(t.ms)} ms`, { event: 'heap-trim', beforeMiB: mib(t.beforeBytes), afterMiB: mib(t.afterBytes), ms: Math.round(t.ms) }),
  });
}

/**
 * Starts the readiness gate where containers reach the host: the Docker default bridge's
 * gateway (auto), or the configured address. A gate that cannot start is logged, not fatal:
 * registration goes on, and gated containers' health checks see connection errors.
 */
async function startGate(parts: Parts): Promise<{ close(): Promise<void> } | undefined> {
  const { config, log, reconciler } = parts;
  if (config.readinessAddress === 'off') return undefined;
  try {
    let address = config.readinessAddress === 'auto' ? undefined : config.readinessAddress;
    if (address === undefined) {
      const gateway = await defaultBridgeGateway(parts.docker);
      if (gateway === undefined) throw new Error('the Docker default bridge has no IPv4 gateway; set --readiness-address');
      address = { host: gateway, port: DEFAULT_READINESS_PORT };
    }
    return await startGateServer(address, (q) => {
      const answer = reconciler.readiness(q);
      parts.metrics.gateAnswer(answer.containerId, answer.ready);
      return answer;
    }, log.child({ component: 'gate' }));
  } catch (err) {
    log.error(`cannot serve the readiness gate: ${errorMessage(err)}`, { event: 'gate-failed', error: errorMessage(err) });
    return undefined;
  }
}
