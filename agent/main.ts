/**
 * Composition root: parses the command line, builds the configuration, the clients and the
 * parts, and hands them to the command. Only this file decides exit codes.
 */
import { helpText, parseCommandLine } from './cli.ts';
import { buildConfig, proxyLogOptions, resolveOptions, type AgentConfig } from './config.ts';
import { DEFAULT_DOCKER_HOST } from './config-options.ts';
import { unknownWarning, type UnknownName } from './config-file.ts';
import { configGet, configSet, configValidate, printIamPolicy } from './commands/config.ts';
import { ConfigError, errorMessage } from './errors.ts';
import type { ApiObserver } from './elb/elbv2-registry.ts';
import { readHostId } from './host/host-id.ts';
import { createLogger } from './log.ts';
import { fileTracer } from './trace.ts';
import { mappingRules } from './commands/mapping-rules.ts';
import { namesTargetGroups } from './mapping/task-tags.ts';
import { TaskMetadataEndpoint } from './task-metadata/task-metadata-endpoint.ts';
import { createServiceTagReader } from './task-metadata/service-tags.ts';
import { AGENT_COMMIT, AGENT_VERSION } from './version.ts';
import type { Parts } from './commands/parts.ts';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK } from './exit-codes.ts';


/** Builds every part from the configuration. Nothing here talks to Docker or AWS yet. */
async function buildParts(config: AgentConfig, env: Record<string, string | undefined>, command: string | undefined): Promise<Parts> {
  // Loaded here, not at start: --help, --version, config and iam-policy need neither dockerode nor the AWS SDK.
  const [{ default: Dockerode }, { DockerContainerSource }, { createAddressSource }, { createRotatingCredentials, logCredentialsEvents }, { Elbv2Registry, MAX_REGIONS_ANY_GROUP }, { fleetMember }, { DryRunRegistry, MemoryStatePort }, { StateStore }, { Metrics }] = await Promise.all([
    import('dockerode'), import('./docker/docker-source.ts'), import('./host/address-source.ts'), import('./elb/credentials.ts'), import('./elb/elbv2-registry.ts'),
    import('./reconcile/fleet-member.ts'), import('./reconcile/dry-run.ts'), import('./state/state-store.ts'), import('./metrics/metrics.ts'),
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
  const { reconciler, registry, pace } = fleetMember(
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

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  let config: AgentConfig;
  let cli;
  let unknown: readonly UnknownName[] = [];
  try {
    cli = parseCommandLine(argv);
    if (cli.help || (cli.command === undefined && !cli.version)) {
      (cli.help ? process.stdout : process.stderr).write(`${helpText()}\n`);
      return cli.help ? EXIT_OK : EXIT_CONFIG;
    }
    if (cli.version) {
      process.stdout.write(`ecs-anywhere-lb-agent ${AGENT_VERSION} (commit ${AGENT_COMMIT}, node ${process.versions.node})\n`);
      return EXIT_OK;
    }
    if (cli.command === 'deregister' && !cli.all) throw new ConfigError('deregister', 'pass --all to deregister every target of this host');
    // Offline commands: the configuration itself, no Docker, no AWS.
    if (cli.command === 'config') {
      if (cli.action === 'set') return await configSet(cli, env);
      if (cli.action === 'get') return await configGet(cli, env);
      return await configValidate(cli, env);
    }
    const resolved = resolveOptions(cli.options, env);
    unknown = resolved.unknown;
    if (cli.command !== 'run') for (const u of unknown) process.stderr.write(`ecs-anywhere-lb-agent: warning: ${unknownWarning(u)}\n`);
    if (cli.command === 'iam-policy') return printIamPolicy(cli, env);
    if (cli.command === 'docker-proxy') {
      const { proxyListenOf, engineSocketOf, runDockerProxy } = await import('./commands/docker-proxy.ts');
      const { logFormat, logLevel } = proxyLogOptions(resolved.options);
      const listen = proxyListenOf(env, resolved.options['docker-host'] ?? DEFAULT_DOCKER_HOST, process.pid);
      return await runDockerProxy(listen, engineSocketOf(env), createLogger({ format: logFormat, level: logLevel }).child({ component: 'docker-proxy' }));
    }
    // From an operator's machine: ECS and ELBv2 only, no Docker, no host.
    if (cli.command === 'fleet') return await (await import('./commands/fleet.ts')).runFleet(cli, resolved);
    config = buildConfig(resolved.options);
    env = resolved.env;
  } catch (err) {
    process.stderr.write(`ecs-anywhere-lb-agent: ${errorMessage(err)}\n`);
    // `config set` can also fail to write the file (permissions, a full disk): that is no configuration error.
    return err instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE;
  }

  let parts: Parts;
  try {
    parts = await buildParts(config, env, cli.command);
  } catch (err) {
    process.stderr.write(`ecs-anywhere-lb-agent: ${errorMessage(err)}\n`);
    return err instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE;
  }
  switch (cli.command) {
    case 'run':
      return (await import('./commands/run.ts')).runAgent(parts, unknown);
    case 'status':
      return (await import('./commands/status.ts')).printStatus(parts, cli.json);
    case 'check':
      return (await import('./commands/check.ts')).runChecks(parts, cli.json);
    case 'deregister':
      return (await import('./commands/deregister.ts')).deregisterAll(parts);
    default:
      return EXIT_CONFIG;
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ecs-anywhere-lb-agent: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
