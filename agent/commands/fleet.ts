/**
 * `fleet status` and `fleet clean`, run from an operator's machine or one host of the fleet:
 * read the cluster (ECS) and the target groups in play (ELBv2), make the report
 * (fleet-view/fleet-diff.ts), print it; `clean` deregisters what the report calls stale, in
 * the allowed groups only, and only with --apply. Every call is paced like the agent's
 * (fleet/api-pace.ts, one pace per API) and retried while throttled or failing transiently.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandLine } from '../cli.ts';
import { DEFAULT_FLEET_SIZE, DEFAULT_STATE_DIR, envName } from '../config-options.ts';
import type { ResolvedOptions } from '../config.ts';
import { parseDuration, splitList } from '../config-values.ts';
import { isTargetGroupArn, regionOfArn } from '../core/arn.ts';
import type { ActualTarget } from '../core/target-registry.ts';
import { ECS_API_LIMITS, createEcsApi, regionOfEcsArn, type EcsApi } from '../ecs/ecs-api.ts';
import { createRotatingCredentials } from '../elb/credentials.ts';
import { Elbv2Registry } from '../elb/elbv2-registry.ts';
import { ConfigError, OperationError, errorMessage } from '../errors.ts';
import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.ts';
import { DEFAULT_ELB_API_LIMITS, parseApiLimits } from '../fleet/api-budget.ts';
import { ApiPace } from '../fleet/api-pace.ts';
import { PacedRegistry } from '../fleet/paced-registry.ts';
import { retryWhilePassing } from '../fleet/retry.ts';
import { cleanPlan } from '../fleet-view/clean-plan.ts';
import { updateDisconnectedSince } from '../fleet-view/disconnected-since.ts';
import { fleetReport } from '../fleet-view/fleet-diff.ts';
import { nothingToFix, type FleetFacts } from '../fleet-view/fleet-facts.ts';
import { formatCleanCalls, formatFleetTable } from '../fleet-view/fleet-table.ts';
import { parseTargetLabels } from '../mapping/labels.ts';

/** How long an instance's ECS agent may be away before its targets count as stale. */
export const DEFAULT_GRACE = '15m';

/** The fleet command's inputs, checked. */
interface FleetInputs {
  readonly cluster: string;
  readonly region: string;
  readonly allowed: readonly string[];
  readonly graceMs: number;
  readonly stateDir: string;
  readonly fleetSize: number;
  readonly elbLimits: ReturnType<typeof parseApiLimits>;
}

const TARGET_GROUPS = `--target-groups (${envName('allowed-target-groups')})`;

function fleetInputs(cli: CommandLine, resolved: ResolvedOptions): FleetInputs {
  const cluster = cli.cluster?.trim() ?? '';
  if (cluster === '') throw new ConfigError('--cluster', `fleet ${cli.fleetAction ?? 'status'} needs --cluster NAME (or the cluster ARN)`);
  const allowed = splitList(resolved.options['allowed-target-groups'] ?? '');
  for (const arn of allowed) if (!isTargetGroupArn(arn)) throw new ConfigError(TARGET_GROUPS, `"${arn}" is not a target group ARN`);
  if (cli.fleetAction === 'clean' && allowed.length === 0) throw new ConfigError(TARGET_GROUPS, 'fleet clean needs the target groups it may clean (the allow-list)');
  const graceMs = parseDuration(cli.grace ?? DEFAULT_GRACE);
  if (graceMs === undefined) throw new ConfigError('--grace', `"${cli.grace ?? ''}" is not a duration (e.g. 15m, 90s)`);
  const region = regionOfEcsArn(cluster) ?? cli.region ?? resolved.env.AWS_REGION ?? (allowed[0] !== undefined ? regionOfArn(allowed[0]) : undefined);
  if (region === undefined || region === '') throw new ConfigError('--region (AWS_REGION)', 'the region of the cluster: give the cluster ARN, --region or AWS_REGION');
  const fleetSize = Number(resolved.options['fleet-size'] ?? DEFAULT_FLEET_SIZE);
  if (!Number.isInteger(fleetSize) || fleetSize < 1) throw new ConfigError(`--fleet-size (${envName('fleet-size')})`, `"${resolved.options['fleet-size'] ?? ''}" is not a whole number of hosts`);
  let elbLimits = DEFAULT_ELB_API_LIMITS;
  const limitsText = resolved.options['elb-api-limits'];
  if (limitsText !== undefined) {
    try {
      elbLimits = parseApiLimits(limitsText);
    } catch (err) {
      throw new ConfigError(`--elb-api-limits (${envName('elb-api-limits')})`, errorMessage(err));
    }
  }
  return { cluster, region, allowed, graceMs, stateDir: resolved.options['state-dir'] ?? DEFAULT_STATE_DIR, fleetSize, elbLimits };
}

/** Where the first sightings of disconnected instances are kept: one file per cluster in --state-dir. */
export function memoryFile(stateDir: string, cluster: string): string {
  return join(stateDir, `fleet-${cluster.replace(/[^A-Za-z0-9_-]+/g, '_')}.json`);
}

async function readMemory(file: string): Promise<Record<string, number>> {
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as { disconnectedSince?: Record<string, unknown> };
    return Object.fromEntries(Object.entries(json.disconnectedSince ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    return {};
  }
}

/** Saves the sightings (temp file + rename); a failure is a warning: the grace then counts from this run. */
async function saveMemory(file: string, since: Record<string, number>, dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ disconnectedSince: since }, null, 2)}\n`);
    await rename(tmp, file);
    return undefined;
  } catch (err) {
    return `cannot remember disconnections in ${file} (${errorMessage(err)}): the grace counts from this run; set --state-dir`;
  }
}

/** Reads the cluster and the groups in play. */
async function gatherFacts(ecs: EcsApi, registry: PacedRegistry, inputs: FleetInputs, previous: Record<string, number>, now: number): Promise<FleetFacts> {
  const { cluster } = inputs;
  const instances = await ecs.describeContainerInstances(cluster, await ecs.listContainerInstances(cluster));
  const tasks = await ecs.describeTasks(cluster, await ecs.listRunningTasks(cluster));
  const labels: Record<string, Record<string, Record<string, string>>> = {};
  for (const arn of new Set(tasks.map((t) => t.taskDefinitionArn))) labels[arn] = await ecs.dockerLabels(arn);
  // Without an allow-list, the groups in play are those the running tasks' labels name.
  const named = Object.values(labels).flatMap((byContainer) => Object.values(byContainer).flatMap((l) => parseTargetLabels(l).requests.map((r) => r.targetGroupArn)));
  const groupArns = inputs.allowed.length > 0 ? [...inputs.allowed] : [...new Set(named)].sort();
  const groups: FleetFacts['groups'][number][] = [];
  for (const targetGroupArn of groupArns) {
    try {
      const targets: ActualTarget[] = await retryWhilePassing(() => registry.describeTargets(targetGroupArn), kindOfError);
      groups.push({ targetGroupArn, targets });
    } catch (err) {
      groups.push({ targetGroupArn, error: errorMessage(err) });
    }
  }
  return { cluster, instances, tasks, labels, groups, disconnectedSince: updateDisconnectedSince(previous, instances, now) };
}

const kindOfError = (err: unknown) => (err instanceof OperationError ? err.kind : 'transient');

/** Runs `fleet status` or `fleet clean`; resolves to the exit code. */
export async function runFleet(cli: CommandLine, resolved: ResolvedOptions): Promise<number> {
  const inputs = fleetInputs(cli, resolved);
  const credentials = createRotatingCredentials(resolved.env);
  const ecs = await createEcsApi({ credentials: credentials.provider, pace: new ApiPace({ limits: ECS_API_LIMITS, fleetSize: inputs.fleetSize }), region: inputs.region });
  const registry = new PacedRegistry(new Elbv2Registry({ credentials }), new ApiPace({ limits: inputs.elbLimits, fleetSize: inputs.fleetSize }));
  const file = memoryFile(inputs.stateDir, inputs.cluster);
  const now = Date.now();
  let facts: FleetFacts;
  try {
    facts = await gatherFacts(ecs, registry, inputs, await readMemory(file), now);
  } catch (err) {
    process.stderr.write(`ecs-anywhere-lb-agent: fleet ${cli.fleetAction ?? 'status'}: ${errorMessage(err)}\n`);
    return EXIT_FAILURE;
  }
  const warning = await saveMemory(file, facts.disconnectedSince, inputs.stateDir);
  if (warning !== undefined) process.stderr.write(`ecs-anywhere-lb-agent: warning: ${warning}\n`);
  const report = fleetReport(facts, { now, graceMs: inputs.graceMs });

  if (cli.fleetAction !== 'clean') {
    process.stdout.write(cli.json ? `${JSON.stringify(report, null, 2)}\n` : formatFleetTable(report));
    return nothingToFix(report) ? EXIT_OK : EXIT_FAILURE;
  }
  const calls = cleanPlan(report, inputs.allowed);
  let failed = 0;
  if (cli.apply) {
    for (const call of calls) {
      try {
        await retryWhilePassing(() => registry.deregister(call.targetGroupArn, call.targets), kindOfError);
      } catch (err) {
        failed++;
        process.stderr.write(`ecs-anywhere-lb-agent: fleet clean: ${errorMessage(err)}\n`);
      }
    }
  }
  process.stdout.write(cli.json ? `${JSON.stringify({ applied: cli.apply, calls }, null, 2)}\n` : formatCleanCalls(calls, cli.apply));
  return failed > 0 ? EXIT_FAILURE : EXIT_OK;
}
