/**
 * One typed, validated configuration. Sources, weakest first: defaults, the config file,
 * ECS_ANYWHERE_LB_* environment variables, command-line flags. Invalid values throw a
 * ConfigError naming the option.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage } from './errors.ts';
import { readConfigLines, unknownNames, type UnknownName } from './config-file.ts';
import { DEFAULT_ECS_INTROSPECTION_ENDPOINT, DEFAULT_HEALTH_THRESHOLD, DEFAULT_TASK_METADATA_ENDPOINT, OPTIONS, envName, type OptionSpec } from './config-options.ts';
import { parseCidr, parseIpv4, untargetableReason, type Cidr } from './core/ipv4.ts';
import { isTargetGroupArn } from './core/arn.ts';
import { parsePortRange, type PortRange } from './core/port-range.ts';
import { endpointOption, parseMetricsAddress, parseReadinessAddress, type ReadinessAddress } from './config-addresses.ts';
import { parseDockerEndpoint, showDockerEndpoint, type DockerEndpoint } from './docker-endpoint.ts';
import { DEFAULT_ELB_API_LIMITS, formatApiLimits, parseApiLimits, type ApiLimits } from './fleet/api-budget.ts';

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

/** Parses "90", "90s", "2m", "500ms", "1h" into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Math.round(Number(match[1]) * unit);
}

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

/** Reads a boolean option's text (true/false, 1/0, yes/no, on/off). */
export function parseBoolean(spec: OptionSpec, text: string): boolean {
  const t = text.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  throw new ConfigError(`--${spec.name} (${envName(spec.name)})`, `"${text}" is not a boolean (true/false)`);
}

/** A comma-separated list, blanks dropped. */
export function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The log options alone, for the docker-proxy, which needs none of the agent's others. */
export function proxyLogOptions(raw: RawOptions): Pick<AgentConfig, 'logFormat' | 'logLevel'> {
  const pick = <T extends string>(name: string): T => {
    const spec = OPTIONS.find((o) => o.name === name) as OptionSpec;
    const text = raw[name] ?? (spec.default as string);
    if (!spec.values?.includes(text)) throw new ConfigError(`--${name} (${envName(name)})`, `"${text}" is not one of ${spec.values?.join(', ')}`);
    return text as T;
  };
  return { logFormat: pick<LogFormat>('log-format'), logLevel: pick<LogLevel>('log-level') };
}

/** Validates merged raw options into the agent's configuration. */
export function buildConfig(raw: RawOptions): AgentConfig {
  const value = (name: string): string | undefined => {
    const spec = OPTIONS.find((o) => o.name === name);
    return raw[name] ?? spec?.default;
  };
  const flag = (name: string) => `--${name} (${envName(name)})`;
  const portRange = (name: string): PortRange => {
    const range = parsePortRange(value(name) as string);
    if (range === undefined) throw new ConfigError(flag(name), `"${value(name)}" is not MIN-MAX with 1 <= MIN <= MAX <= 65535 (e.g. 32768-60999)`);
    return range;
  };
  const bool = (name: string) => parseBoolean(OPTIONS.find((o) => o.name === name) as OptionSpec, value(name) ?? 'false');
  const duration = (name: string, minMs: number) => {
    const text = value(name) as string;
    const ms = parseDuration(text);
    if (ms === undefined) throw new ConfigError(flag(name), `"${text}" is not a duration (e.g. 30s, 2m, 500ms)`);
    if (ms < minMs) throw new ConfigError(flag(name), `${text} is shorter than the minimum ${minMs} ms`);
    return ms;
  };
  const oneOf = <T extends string>(name: string): T => {
    const spec = OPTIONS.find((o) => o.name === name) as OptionSpec;
    const text = value(name) as string;
    if (!spec.values?.includes(text)) throw new ConfigError(flag(name), `"${text}" is not one of ${spec.values?.join(', ')}`);
    return text as T;
  };

  const hostIp = value('host-ip');
  const iface = value('interface');
  if (hostIp !== undefined && iface !== undefined) throw new ConfigError(flag('host-ip'), 'give either --host-ip or --interface, not both');
  if (hostIp !== undefined && parseIpv4(hostIp) === undefined) throw new ConfigError(flag('host-ip'), `"${hostIp}" is not an IPv4 address`);
  if (iface !== undefined && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface)) throw new ConfigError(flag('interface'), `"${iface}" is not an interface name`);
  const allowAnyAddress = bool('allow-any-address');

  const allowedTargetGroups = splitList(value('allowed-target-groups') ?? '');
  for (const arn of allowedTargetGroups) {
    if (!isTargetGroupArn(arn)) throw new ConfigError(flag('allowed-target-groups'), `"${arn}" is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)`);
  }
  const allowAnyTargetGroup = bool('allow-any-target-group');
  if (allowedTargetGroups.length === 0 && !allowAnyTargetGroup) {
    throw new ConfigError(flag('allowed-target-groups'), 'required: list the target group ARNs this host may join, or pass --allow-any-target-group');
  }

  const vpcCidrs = splitList(value('vpc-cidr') ?? '').map((text) => {
    const cidr = parseCidr(text);
    if (!cidr) throw new ConfigError(flag('vpc-cidr'), `"${text}" is not an IPv4 CIDR (e.g. 10.0.0.0/16)`);
    return cidr;
  });
  // A fixed address the load balancer cannot target would never be registered: refuse it now, not at every pass.
  const unreachable = hostIp !== undefined && !allowAnyAddress ? untargetableReason(hostIp, vpcCidrs) : undefined;
  if (unreachable !== undefined) throw new ConfigError(flag('host-ip'), `a load balancer cannot target ${hostIp}: ${unreachable} (--allow-any-address overrides)`);
  const mappingFile = value('mapping-file');
  if (mappingFile !== undefined && !mappingFile.startsWith('/')) throw new ConfigError(flag('mapping-file'), `"${mappingFile}" must be an absolute path`);

  const stateDir = value('state-dir') as string;
  if (!stateDir.startsWith('/')) throw new ConfigError(flag('state-dir'), `"${stateDir}" must be an absolute path`);
  const availabilityZone = value('availability-zone') as string;
  if (!/^(all|[a-z]{2}(-[a-z0-9]+)+-[0-9]+[a-z])$/.test(availabilityZone)) throw new ConfigError(flag('availability-zone'), `"${availabilityZone}" is neither "all" nor a zone name like us-east-1a or us-west-2-lax-1a`);

  const reconcileIntervalMs = duration('reconcile-interval', 1000);
  const fleetSizeText = value('fleet-size') as string;
  const fleetSize = Number(fleetSizeText);
  if (!/^[0-9]+$/.test(fleetSizeText.trim()) || fleetSize < 1 || fleetSize > 1_000_000) throw new ConfigError(flag('fleet-size'), `"${fleetSizeText}" is not a whole number of hosts between 1 and 1000000`);
  let elbApiLimits = DEFAULT_ELB_API_LIMITS;
  const limitsText = value('elb-api-limits');
  if (limitsText !== undefined) {
    try {
      elbApiLimits = parseApiLimits(limitsText);
    } catch (err) {
      throw new ConfigError(flag('elb-api-limits'), errorMessage(err));
    }
  }
  // Periodic passes are what refresh health when nothing else happens: a threshold shorter than two of them would flap.
  const healthThresholdMs = value('health-threshold') !== undefined ? duration('health-threshold', 1000) : Math.max(parseDuration(DEFAULT_HEALTH_THRESHOLD) as number, 2 * reconcileIntervalMs);
  if (healthThresholdMs < 2 * reconcileIntervalMs) {
    throw new ConfigError(flag('health-threshold'), `${value('health-threshold')} is shorter than twice --reconcile-interval (${value('reconcile-interval')}); /healthz would report 503 between quiet periodic runs`);
  }

  const taskMetadataEndpoint = endpointOption(value('task-metadata-endpoint') as string, flag('task-metadata-endpoint'), DEFAULT_TASK_METADATA_ENDPOINT);
  const ecsIntrospectionEndpoint = endpointOption(value('ecs-introspection-endpoint') as string, flag('ecs-introspection-endpoint'), DEFAULT_ECS_INTROSPECTION_ENDPOINT);
  const readServiceTags = bool('read-service-tags');
  if (readServiceTags && taskMetadataEndpoint === undefined) throw new ConfigError(flag('read-service-tags'), 'needs the task metadata endpoint (it names each task\'s service): --task-metadata-endpoint is off');

  return {
    ...(hostIp !== undefined ? { hostIp } : {}),
    ...(iface !== undefined ? { interface: iface } : {}),
    allowAnyAddress,
    allowedTargetGroups,
    allowAnyTargetGroup,
    stateDir,
    vpcCidrs,
    availabilityZone,
    reconcileIntervalMs,
    addressCheckIntervalMs: duration('address-check-interval', 100),
    onExit: oneOf<OnExit>('on-exit'),
    drainTimeoutMs: duration('drain-timeout', 0),
    logFormat: oneOf<LogFormat>('log-format'),
    logLevel: oneOf<LogLevel>('log-level'),
    includeNonEcs: bool('include-non-ecs'),
    ...(mappingFile !== undefined ? { mappingFile } : {}),
    ...(value('metrics-address') !== undefined ? { metricsAddress: parseMetricsAddress(value('metrics-address') as string, flag('metrics-address')) } : {}),
    dryRun: bool('dry-run'),
    dockerHost: parseDockerEndpoint(value('docker-host') as string, flag('docker-host')),
    hostPortRange: portRange('host-port-range'),
    healthThresholdMs,
    retryMaxDelayMs: duration('retry-max-delay', 1000),
    fleetSize,
    elbApiLimits,
    readinessAddress: parseReadinessAddress(value('readiness-address') as string, flag('readiness-address')),
    ...(taskMetadataEndpoint !== undefined ? { taskMetadataEndpoint } : {}),
    readServiceTags,
    ...(ecsIntrospectionEndpoint !== undefined ? { ecsIntrospectionEndpoint } : {}),
  };
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
    throw new ConfigError('--config (ECS_ANYWHERE_LB_CONFIG)', `cannot read ${file}: ${errorMessage(err)}`);
  }
  const fromFile = resolveFileText(text, file);
  return { options: { ...fromFile.options, ...fromEnv, ...flags }, env: { ...fromFile.env, ...env }, unknown: [...fromFile.unknown, ...unknownInEnv] };
}
