/**
 * The agent's options: one table that drives flag parsing, environment variables, the config
 * file, `--help`, the configuration each option reads into (its field, its reader, its
 * bounds) and the effective-config log line. Defaults are named here.
 */

import type { AgentConfig } from './config.ts';
import { DEFAULT_READINESS_PORT, endpointReader, readAbsolutePath, readAvailabilityZone, readInterfaceName, readIpv4, readMetricsAddress, readPortRange, readReadinessAddress, readTargetGroupArns } from './config-readers.ts';
import { ECS_DYNAMIC_PORT_RANGE } from './core/port-range.ts';
import { parseDockerEndpoint } from './docker-endpoint.ts';
import { DEFAULT_ELB_API_LIMITS, formatApiLimits, parseApiLimits } from './fleet/api-budget.ts';

/** How an option's text is read. */
export type OptionType = 'string' | 'boolean' | 'duration' | 'list' | 'enum' | 'cidrs' | 'count';

/** One option: flag `--name`, environment variable `ECS_ANYWHERE_LB_<NAME>`. */
export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  readonly help: string;
  readonly default?: string;
  readonly values?: readonly string[];
  /** The configuration's field the option sets; none: read before the configuration (--config). */
  readonly field?: keyof AgentConfig;
  /** Durations: the shortest accepted (ms); counts: the smallest. */
  readonly min?: number;
  /** Counts: the largest accepted. */
  readonly max?: number;
  /** Counts: what is counted, for errors. */
  readonly unit?: string;
  /** How the text becomes the value when its type's reader is not enough; throws an Error saying what is wrong. */
  readonly read?: (text: string) => unknown;
}

export const DEFAULT_STATE_DIR = '/var/lib/ecs-anywhere-lb-agent';
export const DEFAULT_RECONCILE_INTERVAL = '60s';
export const DEFAULT_DRAIN_TIMEOUT = '120s';
export const DEFAULT_ADDRESS_CHECK_INTERVAL = '2s';
export const DEFAULT_AVAILABILITY_ZONE = 'all';
export const DEFAULT_RETRY_MAX_DELAY = '30s';
export const DEFAULT_HEALTH_THRESHOLD = '120s';
export const DEFAULT_FLEET_SIZE = '100';
export const DEFAULT_READINESS_ADDRESS = 'auto';
/** Where the ECS agent serves the task metadata endpoint, for host processes too (ecs-init redirects it to 127.0.0.1:51679). */
export const DEFAULT_TASK_METADATA_ENDPOINT = 'http://169.254.170.2';
/** The docker-proxy's socket (systemd/ecs-anywhere-lb-agent-docker-proxy.socket): the agent's only way to Docker by default. */
export const DEFAULT_DOCKER_HOST = 'unix:///run/ecs-anywhere-lb-agent/docker.sock';
/** Where the ECS agent's introspection API answers on an ECS Anywhere host (GET /v1/metadata: cluster and container instance). */
export const DEFAULT_ECS_INTROSPECTION_ENDPOINT = 'http://localhost:51678';

export const OPTIONS: readonly OptionSpec[] = [
  { name: 'config', type: 'string', help: 'file of KEY=VALUE lines (ECS_ANYWHERE_LB_* names), e.g. /etc/ecs-anywhere-lb-agent/agent.env' },
  { name: 'host-ip', type: 'string', help: 'address to register (default: auto, see --interface)', field: 'hostIp', read: readIpv4 },
  { name: 'interface', type: 'string', help: 'interface whose IPv4 address is registered, e.g. tun0 (default: an up VPN interface tun*/wg*, else the default-route interface)', field: 'interface', read: readInterfaceName },
  { name: 'allow-any-address', type: 'boolean', default: 'false', help: 'also register loopback, link-local or public addresses', field: 'allowAnyAddress' },
  { name: 'allowed-target-groups', type: 'list', help: 'comma-separated target group ARNs this host may join (required unless --allow-any-target-group)', field: 'allowedTargetGroups', read: readTargetGroupArns },
  { name: 'allow-any-target-group', type: 'boolean', default: 'false', help: 'join any target group a container names (not recommended)', field: 'allowAnyTargetGroup' },
  { name: 'state-dir', type: 'string', default: DEFAULT_STATE_DIR, help: 'where this host records the targets it registered', field: 'stateDir', read: readAbsolutePath },
  { name: 'vpc-cidr', type: 'cidrs', help: 'comma-separated CIDRs of the target groups\' VPC; addresses inside are registered without AvailabilityZone=all', field: 'vpcCidrs' },
  { name: 'availability-zone', type: 'string', default: DEFAULT_AVAILABILITY_ZONE, help: 'AvailabilityZone for addresses outside the VPC (a real zone when cross-zone load balancing is off)', field: 'availabilityZone', read: readAvailabilityZone },
  { name: 'reconcile-interval', type: 'duration', default: DEFAULT_RECONCILE_INTERVAL, help: 'period of the container re-listing pass (jittered +-10%), and the shortest interval between two reads of a target group', field: 'reconcileIntervalMs', min: 1000 },
  { name: 'fleet-size', type: 'count', default: DEFAULT_FLEET_SIZE, help: 'hosts that share this AWS account and region (their agents spend one ELB API budget): sizes the drift-repair reads and the fair share each host falls back to when throttled', field: 'fleetSize', min: 1, max: 1_000_000, unit: 'hosts' },
  { name: 'elb-api-limits', type: 'string', default: formatApiLimits(DEFAULT_ELB_API_LIMITS), help: 'the account\'s ELB API limits per region, if raised: CLASS=RATE:BURST,... for change (Register/DeregisterTargets) and describe (Describe*)', field: 'elbApiLimits', read: parseApiLimits },
  { name: 'address-check-interval', type: 'duration', default: DEFAULT_ADDRESS_CHECK_INTERVAL, help: 'how often the host address is polled: the fallback to watching address and link changes as they happen (`ip monitor`, iproute2)', field: 'addressCheckIntervalMs', min: 100 },
  { name: 'on-exit', type: 'enum', values: ['auto', 'deregister', 'keep'], default: 'auto', help: 'on SIGTERM: auto = deregister only when the host shuts down', field: 'onExit' },
  { name: 'drain-timeout', type: 'duration', default: DEFAULT_DRAIN_TIMEOUT, help: 'how long to wait for deregistered targets to drain on exit', field: 'drainTimeoutMs', min: 0 },
  { name: 'log-format', type: 'enum', values: ['json', 'text'], default: 'json', help: 'log line format', field: 'logFormat' },
  { name: 'log-level', type: 'enum', values: ['error', 'warn', 'info', 'debug'], default: 'info', help: 'least severe level logged', field: 'logLevel' },
  { name: 'host-port-range', type: 'string', default: ECS_DYNAMIC_PORT_RANGE, help: 'MIN-MAX: in host network mode a label\'s or mapping\'s port is registered only if the container exposes it or it lies in this range (default ECS\'s dynamic host ports), so a task cannot put the host\'s own ports (22...) into a group', field: 'hostPortRange', read: readPortRange },
  { name: 'include-non-ecs', type: 'boolean', default: 'false', help: 'also admit containers without ECS task labels (plain Docker, compose)', field: 'includeNonEcs' },
  { name: 'mapping-file', type: 'string', help: 'JSON file mapping task family + container name to target groups', field: 'mappingFile', read: readAbsolutePath },
  { name: 'task-metadata-endpoint', type: 'string', default: DEFAULT_TASK_METADATA_ENDPOINT, help: 'URL of the ECS task metadata endpoint, where each task\'s service and tags are read (GET /v4/<id>/taskWithTags) so that service tags (ecs-a.lbName, ecs-anywhere-lb.*) map whole services; off = labels and the mapping file only', field: 'taskMetadataEndpoint', read: endpointReader(DEFAULT_TASK_METADATA_ENDPOINT) },
  { name: 'read-service-tags', type: 'boolean', default: 'false', help: 'when a task carries none of the mapping tags (its service lacks propagateTags: SERVICE), read the service\'s own tags with ecs:ListTagsForResource (one call per service; the IAM policy then grants it)', field: 'readServiceTags' },
  { name: 'ecs-introspection-endpoint', type: 'string', default: DEFAULT_ECS_INTROSPECTION_ENDPOINT, help: 'URL of the ECS agent\'s introspection API (GET /v1/metadata names this host\'s cluster and container instance): the agent puts the attribute ecs-anywhere-lb.address=<registered address> on its container instance (ecs:PutAttributes) for `fleet status`, `fleet clean` and placement constraints; off = no attribute', field: 'ecsIntrospectionEndpoint', read: endpointReader(DEFAULT_ECS_INTROSPECTION_ENDPOINT) },
  { name: 'readiness-address', type: 'string', default: DEFAULT_READINESS_ADDRESS, help: `HOST[:PORT] of the readiness gate (GET /ready) for containers labelled ecs-anywhere-lb.readiness-gate=true; auto = the Docker default bridge's gateway, port ${DEFAULT_READINESS_PORT}; port 0 = any free port (logged); never 0.0.0.0; off = no gate`, field: 'readinessAddress', read: readReadinessAddress },
  { name: 'metrics-address', type: 'string', help: 'HOST:PORT for Prometheus /metrics and /healthz (default off; loopback only)', field: 'metricsAddress', read: readMetricsAddress },
  { name: 'health-threshold', type: 'duration', help: `/healthz answers 503 once Docker or the ELB API has not answered for this long (default ${DEFAULT_HEALTH_THRESHOLD} or twice --reconcile-interval, whichever is longer)`, field: 'healthThresholdMs', min: 1000 },
  { name: 'retry-max-delay', type: 'duration', default: DEFAULT_RETRY_MAX_DELAY, help: 'cap of the jittered exponential backoff after throttling, 5xx or network errors, per target group', field: 'retryMaxDelayMs', min: 1000 },
  { name: 'docker-host', type: 'string', default: DEFAULT_DOCKER_HOST, help: 'where the agent reaches Docker: the docker-proxy\'s socket, which passes on only the agent\'s five reads; unix:///var/run/docker.sock is the engine itself (full control of the host: see docs/security.md). `docker-proxy` listens here unless systemd passes it its socket', field: 'dockerHost', read: parseDockerEndpoint },
  { name: 'dry-run', type: 'boolean', default: 'false', help: 'log the changes a reconcile would make without making them', field: 'dryRun' },
];

/** The environment variable that sets an option. */
export function envName(option: string): string {
  return `ECS_ANYWHERE_LB_${option.toUpperCase().replace(/-/g, '_')}`;
}

/** The option of this name (a programming error if there is none). */
export function optionSpec(name: string): OptionSpec {
  const spec = OPTIONS.find((o) => o.name === name);
  if (!spec) throw new Error(`no option --${name}`);
  return spec;
}
