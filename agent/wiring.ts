/**
 * The composition root's wiring (main.ts decides which command runs and its exit code; this
 * file builds what the command is handed): the clients, the adapters and the reconciler. The
 * only file that constructs adapters; everything else receives them.
 */
import type { AgentConfig } from './config.ts';
import type { ApiObserver } from './elb/elbv2-registry.ts';
import { readHostId } from './host/host-id.ts';
import { createLogger } from './log.ts';
import { fileTracer } from './trace.ts';
import { mappingRules } from './commands/mapping-rules.ts';
import { namesTargetGroups } from './mapping/task-tags.ts';
import { TaskMetadataEndpoint } from './task-metadata/task-metadata-endpoint.ts';
import { createServiceTagReader } from './task-metadata/service-tags.ts';
import type { Parts } from './commands/parts.ts';
import type { ApiClass, ApiLimits } from './fleet/api-budget.ts';
import { ApiPace } from './fleet/api-pace.ts';
import { PacedRegistry } from './fleet/paced-registry.ts';
import type { TargetRegistry } from './core/target-registry.ts';
import { Reconciler, type ReconcilerOptions } from './reconcile/reconciler.ts';
import { DEFAULT_RETRY } from './core/backoff.ts';

/** The figures that size an agent process's calls. */
export interface ReconcilerSettings {
  readonly fleetSize: number;
  readonly limits: ApiLimits;
  readonly reconcileIntervalMs: number;
  readonly retryMaxDelayMs: number;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly onThrottled?: (cls: ApiClass) => void;
}

/** What the reconciler reads from and writes to, and what it is told to do, apart from the pacing. */
export type ReconcilerParts = Omit<ReconcilerOptions, 'registry' | 'pace' | 'fleet' | 'retry' | 'permanentRetryMs' | 'now' | 'random'> & {
  /** The registry before pacing (the ELB adapter, or a dry-run or simulated one). */
  readonly registry: TargetRegistry;
};

/**
 * Builds the pace, the paced registry and the reconciler of one agent process: one pace per
 * process, every call through the paced registry, reads never more often than the reconcile
 * interval, a group that refuses this host left alone until the next periodic run, transient
 * failures backed off from 1 s up to the retry cap. `buildParts`, the fleet simulation and the
 * unit tests all build their reconcilers here, so all run the same rules.
 */
export function wireReconciler(settings: ReconcilerSettings, parts: ReconcilerParts): { reconciler: Reconciler; registry: PacedRegistry; pace: ApiPace } {
  const clock = { ...(settings.now ? { now: settings.now } : {}), ...(settings.random ? { random: settings.random } : {}) };
  const pace = new ApiPace({ limits: settings.limits, fleetSize: settings.fleetSize, ...clock });
  const registry = new PacedRegistry(parts.registry, pace, settings.onThrottled);
  const reconciler = new Reconciler({
    ...parts,
    registry,
    pace,
    fleet: { fleetSize: settings.fleetSize, limits: settings.limits, minReadIntervalMs: settings.reconcileIntervalMs },
    permanentRetryMs: settings.reconcileIntervalMs,
    retry: { baseMs: DEFAULT_RETRY.baseMs, capMs: settings.retryMaxDelayMs },
    ...clock,
  });
  return { reconciler, registry, pace };
}

/** Builds every part from the configuration. Nothing here talks to Docker or AWS yet. */
export async function buildParts(config: AgentConfig, env: Record<string, string | undefined>, command: string | undefined): Promise<Parts> {
  // Loaded here, not at start: --help, --version, config and iam-policy need neither dockerode nor the AWS SDK.
  const [{ default: Dockerode }, { DockerContainerSource }, { createAddressSource }, { createRotatingCredentials, logCredentialsEvents }, { Elbv2Registry, MAX_REGIONS_ANY_GROUP }, { DryRunRegistry, MemoryStatePort }, { StateStore }, { Metrics }] = await Promise.all([
    import('dockerode'), import('./docker/docker-source.ts'), import('./host/address-source.ts'), import('./elb/credentials.ts'), import('./elb/elbv2-registry.ts'),
    import('./reconcile/dry-run.ts'), import('./state/state-store.ts'), import('./metrics/metrics.ts'),
  ]);
  const log = createLogger({ format: config.logFormat, level: config.logLevel, ...(command !== 'run' ? { stream: process.stderr } : {}) });
  const metrics = new Metrics();
  const docker = new Dockerode(config.dockerHost);
  // The event path's steps, for `npm run bench -- --profile`: written only when ECSLB_TRACE_FILE names a file.
  const tracer = fileTracer(env.ECSLB_TRACE_FILE);
  const containers = new DockerContainerSource(docker, undefined, undefined, tracer);
  const credentials = createRotatingCredentials(env, { onEvent: logCredentialsEvents(log.child({ component: 'credentials' })) });
  const observe: ApiObserver = (action, code, _ms, reachable) => metrics.apiCall(action, code, reachable);
  const anyGroup = config.allowAnyTargetGroup && config.allowedTargetGroups.length === 0;
  const elb = new Elbv2Registry({ credentials, observe, tracer, ...(anyGroup ? { maxRegions: MAX_REGIONS_ANY_GROUP } : {}) });
  const addresses = createAddressSource(config);
  // The commands that act on what the state says refuse a directory someone else could write.
  if (command === 'run' || command === 'deregister') await (await import('./state/state-dir.ts')).checkStateDir(config.stateDir);
  // Read-only commands (status, check) leave a state file that cannot be used where it is; run and deregister move it aside.
  const disk = new StateStore(config.stateDir, { moveAside: command === 'run' || command === 'deregister' });
  const store = config.dryRun ? new MemoryStatePort(disk) : disk;
  // A bad mapping file at start is a configuration error (exit 78) unless `run` kept a good copy; later, a bad edit keeps the last good rules.
  const mapping = await mappingRules(config, command, log.child({ component: 'mapping' }));
  // The ECS client is loaded only with --read-service-tags.
  const serviceTags = config.readServiceTags ? await createServiceTagReader({ credentials: credentials.provider }) : undefined;
  const taskMetadata = config.taskMetadataEndpoint !== undefined
    ? new TaskMetadataEndpoint({ baseUrl: config.taskMetadataEndpoint, log: log.child({ component: 'task-metadata' }), mapsTargetGroups: (tags) => namesTargetGroups(tags, true), ...(serviceTags ? { serviceTags } : {}) })
    : undefined;
  // --dry-run: real reads, pretended changes, state kept in memory; the reconciler is the same.
  const { reconciler, registry, pace } = wireReconciler(
    { fleetSize: config.fleetSize, limits: config.elbApiLimits, reconcileIntervalMs: config.reconcileIntervalMs, retryMaxDelayMs: config.retryMaxDelayMs, onThrottled: (cls) => metrics.apiThrottled(cls) },
    {
      registry: config.dryRun ? new DryRunRegistry(elb) : elb,
      containers,
      addresses,
      store,
      log: log.child({ component: 'reconciler' }),
      rules: mapping ?? [],
      ...(config.allowAnyTargetGroup && config.allowedTargetGroups.length === 0 ? {} : { allowedTargetGroups: config.allowedTargetGroups }),
      includeNonEcs: config.includeNonEcs,
      hostPortRange: config.hostPortRange,
      ...(taskMetadata ? { taskMetadata } : {}),
      vpcCidrs: config.vpcCidrs,
      availabilityZone: config.availabilityZone,
      hostId: await readHostId(),
      onDrained: (_arn, ms) => metrics.drained(ms),
      onStateWrite: (ok) => metrics.stateWrite(ok),
      tracer,
    },
  );
  return { config, log, metrics, docker, containers, credentials, registry, pace, addresses, store, reconciler, tracer, ...(mapping ? { mapping } : {}) };
}
