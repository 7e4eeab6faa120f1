/**
 * One typed, validated configuration. Sources, weakest first: defaults, the config file,
 * ECS_ANYWHERE_LB_* environment variables, command-line flags. Invalid values throw a
 * ConfigError naming the option.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage } from './errors.ts';
import { readConfigLines, unknownNames, type UnknownName } from './config-file.ts';
import { DEFAULT_HEALTH_THRESHOLD, OPTIONS, envName, optionSpec, type OptionSpec } from './config-options.ts';
import { parseDuration, valueOf } from './config-values.ts';
import { untargetableReason, type Cidr } from './core/ipv4.ts';
import type { PortRange } from './core/port-range.ts';
import type { ReadinessAddress } from './config-readers.ts';
import { showDockerEndpoint, type DockerEndpoint } from './docker-endpoint.ts';
import { formatApiLimits, type ApiLimits } from './fleet/api-budget.ts';

export type OnExit = 'auto' | 'deregister' | 'keep';
export type LogFormat = 'json' | 'text';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The effective configuration the agent runs with. */
export interface AgentConfig {
  readonly hostIp?: string;
  readonly interface?: string;
  readonly allowAnyAddress: boolean;
  readonly allowedTargetGroups: readonly string[];
  readonly allowAnyTargetGroup: boolean;
  readonly stateDir: string;
  readonly vpcCidrs: readonly Cidr[];
  readonly availabilityZone: string;
  readonly reconcileIntervalMs: number;
  readonly addressCheckIntervalMs: number;
  readonly onExit: OnExit;
  readonly drainTimeoutMs: number;
  readonly logFormat: LogFormat;
  readonly logLevel: LogLevel;
  readonly includeNonEcs: boolean;
  readonly mappingFile?: string;
  readonly metricsAddress?: { host: string; port: number };
  readonly healthThresholdMs: number;
  readonly retryMaxDelayMs: number;
  readonly fleetSize: number;
  /** Where the readiness gate listens: found from the Docker engine (auto), nowhere (off), or this address. */
  readonly readinessAddress: ReadinessAddress;
  readonly elbApiLimits: ApiLimits;
  /** Base URL of the ECS task metadata endpoint; undefined: off (labels and the mapping file only). */
  readonly taskMetadataEndpoint?: string;
  readonly readServiceTags: boolean;
  /** Base URL of the ECS agent's introspection API; undefined: off (no address attribute). */
  readonly ecsIntrospectionEndpoint?: string;
  readonly dryRun: boolean;
  /** Where the agent reaches Docker: the docker-proxy's socket by default. */
  readonly dockerHost: DockerEndpoint;
  /** Host network mode: ports a container may name without exposing them. */
  readonly hostPortRange: PortRange;
}

/** Raw option texts keyed by option name. */
export type RawOptions = Record<string, string>;

/** Reads a KEY=VALUE file (systemd EnvironmentFile syntax: comments, optional quotes); the last of a repeated key wins, as in systemd. */
export function parseEnvFile(text: string, source: string): Record<string, string> {
  return Object.fromEntries(readConfigLines(text, source).map((l) => [l.key, l.value]));
}

/** Picks the ECS_ANYWHERE_LB_* variables of an environment as raw options. */
export function optionsFromEnv(env: Record<string, string | undefined>): RawOptions {
  const out: RawOptions = {};
  for (const spec of OPTIONS) {
    const value = env[envName(spec.name)];
    if (value !== undefined && value !== '') out[spec.name] = value;
  }
  return out;
}

/** How an option is named in errors: its flag and its environment variable. */
export function optionFlag(name: string): string {
  return `--${name} (${envName(name)})`;
}

/** Reads one option's text; a bad one throws a ConfigError naming the option. */
export function readOption<T>(spec: OptionSpec, text: string): T {
  try {
    return valueOf(spec, text) as T;
  } catch (err) {
    throw new ConfigError(optionFlag(spec.name), errorMessage(err));
  }
}

/** The log options alone, for the docker-proxy, which needs none of the agent's others. */
export function proxyLogOptions(raw: RawOptions): Pick<AgentConfig, 'logFormat' | 'logLevel'> {
  const read = <T>(name: string) => readOption<T>(optionSpec(name), raw[name] ?? (optionSpec(name).default as string));
  return { logFormat: read<LogFormat>('log-format'), logLevel: read<LogLevel>('log-level') };
}

/** Validates merged raw options into the agent's configuration: each option read as its table row says, then the checks across options. */
export function buildConfig(raw: RawOptions): AgentConfig {
  const fields: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    const text = raw[spec.name] ?? spec.default;
    if (spec.field === undefined || text === undefined) continue;
    const value = readOption(spec, text);
    if (value !== undefined) fields[spec.field] = value;
  }
  // Every required field but these three has a default in the table (the optional ones may stay unset).
  const config = fields as Partial<AgentConfig> & Omit<AgentConfig, 'allowedTargetGroups' | 'vpcCidrs' | 'healthThresholdMs'>;
  const { hostIp, reconcileIntervalMs } = config;
  const allowedTargetGroups = config.allowedTargetGroups ?? [];
  const vpcCidrs = config.vpcCidrs ?? [];

  if (hostIp !== undefined && config.interface !== undefined) throw new ConfigError(optionFlag('host-ip'), 'give either --host-ip or --interface, not both');
  if (allowedTargetGroups.length === 0 && !config.allowAnyTargetGroup) {
    throw new ConfigError(optionFlag('allowed-target-groups'), 'required: list the target group ARNs this host may join, or pass --allow-any-target-group');
  }
  // A fixed address the load balancer cannot target would never be registered: refuse it now, not at every pass.
  const unreachable = hostIp !== undefined && !config.allowAnyAddress ? untargetableReason(hostIp, vpcCidrs) : undefined;
  if (unreachable !== undefined) throw new ConfigError(optionFlag('host-ip'), `a load balancer cannot target ${hostIp}: ${unreachable} (--allow-any-address overrides)`);
  // Periodic passes are what refresh health when nothing else happens: a threshold shorter than two of them would flap.
  const healthThresholdMs = config.healthThresholdMs ?? Math.max(parseDuration(DEFAULT_HEALTH_THRESHOLD) as number, 2 * reconcileIntervalMs);
  if (healthThresholdMs < 2 * reconcileIntervalMs) {
    throw new ConfigError(optionFlag('health-threshold'), `${raw['health-threshold']} is shorter than twice --reconcile-interval (${raw['reconcile-interval'] ?? optionSpec('reconcile-interval').default}); /healthz would report 503 between quiet periodic runs`);
  }
  if (config.readServiceTags && config.taskMetadataEndpoint === undefined) throw new ConfigError(optionFlag('read-service-tags'), 'needs the task metadata endpoint (it names each task\'s service): --task-metadata-endpoint is off');
  return { ...config, allowedTargetGroups, vpcCidrs, healthThresholdMs };
}

/** The configuration as plain data for the start-up log line. It holds no secrets. */
export function describeConfig(config: AgentConfig): Record<string, unknown> {
  return {
    ...config,
    vpcCidrs: config.vpcCidrs.map((c) => c.text),
    metricsAddress: config.metricsAddress ? `${config.metricsAddress.host}:${config.metricsAddress.port}` : undefined,
    elbApiLimits: formatApiLimits(config.elbApiLimits),
    readinessAddress: typeof config.readinessAddress === 'string' ? config.readinessAddress : `${config.readinessAddress.host}:${config.readinessAddress.port}`,
    dockerHost: showDockerEndpoint(config.dockerHost),
    hostPortRange: `${config.hostPortRange.min}-${config.hostPortRange.max}`,
  };
}

/** What resolveOptions found: the merged options, the environment the agent runs with, and the names that set nothing. */
export interface ResolvedOptions {
  readonly options: RawOptions;
  readonly env: Record<string, string | undefined>;
  /** ECS_ANYWHERE_LB_* names in the environment or the file that are no option (typos). */
  readonly unknown: readonly UnknownName[];
}

/**
 * What a config file alone sets, as the systemd unit reads it: its options, its AWS_*
 * variables (`env`), and its unknown ECS_ANYWHERE_LB_* names with their lines.
 */
export function resolveFileText(text: string, file: string): ResolvedOptions {
  const lines = readConfigLines(text, file);
  const vars = Object.fromEntries(lines.map((l) => [l.key, l.value]));
  const aws = Object.fromEntries(Object.entries(vars).filter(([k]) => k.startsWith('AWS_')));
  return { options: optionsFromEnv(vars), env: aws, unknown: unknownNames(lines.map((l) => [l.key, `${file} line ${l.line}`] as const)) };
}

/**
 * Merges the config file, the environment and the flags (strongest last). Returns the raw
 * options and the environment the agent runs with: the file's AWS_* variables (e.g.
 * AWS_SHARED_CREDENTIALS_FILE) apply where the real environment does not set them, as they
 * would when systemd reads the same file as its EnvironmentFile.
 */
export function resolveOptions(flags: RawOptions, env: Record<string, string | undefined>): ResolvedOptions {
  const fromEnv = optionsFromEnv(env);
  const unknownInEnv = unknownNames(Object.keys(env).filter((k) => env[k] !== undefined).sort().map((k) => [k, 'environment'] as const));
  const file = flags.config ?? fromEnv.config;
  if (file === undefined) return { options: { ...fromEnv, ...flags }, env, unknown: unknownInEnv };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(optionFlag('config'), `cannot read ${file}: ${errorMessage(err)}`);
  }
  const fromFile = resolveFileText(text, file);
  return { options: { ...fromFile.options, ...fromEnv, ...flags }, env: { ...fromFile.env, ...env }, unknown: [...fromFile.unknown, ...unknownInEnv] };
}
