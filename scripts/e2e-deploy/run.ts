/**
 * The end-to-end deployment measurement behind `npm run e2e:deploy` and its CI test: the real
 * agent (the bundle, as a child process) on the real Docker engine, a local ELBv2 endpoint with
 * an ALB-like listener whose routing follows Register/DeregisterTargets `propagationDelayMs`
 * late, the ECS deployment emulator rolling a 3-task service (minimumHealthyPercent 100,
 * maximumPercent 200) N times, and a steady open-loop load through the listener that counts
 * every failed request. Once per variant, in the same run, against the same agent:
 *
 * - `gated`: the task definition has `ecs-anywhere-lb.readiness-gate=true` and its container
 *   healthCheck asks the agent's gate (`wget http://<bridge gateway>:9465/ready`), so ECS counts
 *   a new task healthy only once the agent read its target healthy in the group.
 * - `baseline`: the common ECS setup without the gate: the same healthCheck settings, but the
 *   command checks the app itself (`wget http://127.0.0.1:8080/`). The agent registers the task
 *   when Docker says healthy, the moment ECS also counts it healthy and starts stopping old tasks.
 *
 * Only the label and the health check command differ; everything else (agent, group settings,
 * listener, grace, stopTimeout, load) is the same. See scripts/e2e-deploy.ts for the command.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type Docker from 'dockerode';
import { AGENT_LABELS, createService, defaultBridgeGateway, httpHealthCheckCommand, uniqueFamily } from '../../test/support/ecs-deployment/index.ts';
import type { ContainerHealthCheck, EcsService, TaskDefinitionSpec } from '../../test/support/ecs-deployment/index.ts';
import { removeTestContainers, testRunId } from '../../test/support/ecs-container.ts';
import { AgentProcess, tempDir } from '../../test/support/agent-process.ts';
import { startLoad } from '../../test/support/load-generator.ts';
import type { LoadFailure, LoadGenerator, LoadStats } from '../../test/support/load-generator.ts';
import { startLocalElbv2 } from '../../test/support/local-elbv2/index.ts';
import type { LoadBalancerListener, LocalElbv2 } from '../../test/support/local-elbv2/index.ts';
import { ensureTestImage } from '../../test/support/test-image.ts';
import { sleep, waitFor } from '../../test/support/wait.ts';
import { Teardown } from './teardown.ts';

/** The two task definitions measured. */
export type Variant = 'gated' | 'baseline';
export const VARIANTS: readonly Variant[] = ['gated', 'baseline'];

/** The address the agent registers (outside the endpoint's VPC, so AvailabilityZone=all). */
export const HOST_IP = '10.8.0.10';
/** The agent's gate port on the bridge gateway (`--readiness-address auto`). */
export const GATE_PORT = 9465;
/** The app's container port (the test image's httpd). */
const CONTAINER_PORT = 8080;

/** Everything a run can be told; {@link E2E_DEFAULTS} has a value for each. */
export interface E2eDeployOptions {
  /** Rolling deployments per variant. */
  readonly deployments: number;
  /** Requests per second through the listener. */
  readonly ratePerSecond: number;
  /** Register/DeregisterTargets to routing change, in the listener. */
  readonly propagationDelayMs: number;
  /** How long the app keeps serving after SIGTERM (the task definition's app behaviour). */
  readonly graceSeconds: number;
  /** The task's stopTimeout (docker stop -t): SIGKILL after it. */
  readonly stopTimeoutSeconds: number;
  readonly desiredCount: number;
  readonly minimumHealthyPercent: number;
  readonly maximumPercent: number;
  /** The container healthCheck's timing (the command depends on the variant). */
  readonly healthCheck: Omit<ContainerHealthCheck, 'command'>;
  /** The target group's health check settings (the agent reads a pending gate's group at interval x healthy threshold). */
  readonly targetGroup: {
    readonly healthCheckIntervalSeconds: number;
    readonly healthCheckTimeoutSeconds: number;
    readonly healthyThresholdCount: number;
    readonly unhealthyThresholdCount: number;
    readonly deregistrationDelaySeconds: number;
  };
  /** Deadline of one request of the load. */
  readonly requestTimeoutMs: number;
  /** After a deployment reached steady state, keep the load going this long before the next (late failures count to it). */
  readonly settleMs: number;
  /** Longest a deployment may take. */
  readonly deploymentTimeoutMs: number;
  readonly variants: readonly Variant[];
  /** Container label value for cleanup (default: testRunId()). */
  readonly runId?: string;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** The defaults of `npm run e2e:deploy`: realistic ECS and ALB settings at their shortest. */
export const E2E_DEFAULTS: E2eDeployOptions = {
  deployments: 10,
  ratePerSecond: 50,
  propagationDelayMs: 2_000,
  graceSeconds: 5,
  stopTimeoutSeconds: 10,
  desiredCount: 3,
  minimumHealthyPercent: 100,
  maximumPercent: 200,
  // ECS's shortest interval (5 s) and timeout (2 s), its default retries; the start period
  // (ECS allows up to 300 s) covers the wait for the gate: failures in it do not count.
  healthCheck: { intervalMs: 5_000, timeoutMs: 2_000, retries: 3, startPeriodMs: 60_000 },
  // ALB's shortest health check settings: a new target can be healthy 10 s after registration.
  targetGroup: { healthCheckIntervalSeconds: 5, healthCheckTimeoutSeconds: 2, healthyThresholdCount: 2, unhealthyThresholdCount: 2, deregistrationDelaySeconds: 5 },
  requestTimeoutMs: 3_000,
  settleMs: 3_000,
  deploymentTimeoutMs: 180_000,
  variants: VARIANTS,
};

/** How long a variant waits for the listener to route to every new task before the load starts. */
const ROUTING_TIMEOUT_MS = 60_000;
/** Set-up and teardown at their slowest: the agent's first reconcile and gate (30 s + 20 s), image, endpoint, cleanup. */
const SETUP_AND_TEARDOWN_MS = 120_000;

/**
 * The longest a run can take before one of its own waits gives up with an explanation (the agent's
 * output included): a caller's deadline must lie beyond it, or it cuts the run off silently first.
 */
export function longestRunMs(o: E2eDeployOptions): number {
  const variant = o.deploymentTimeoutMs + ROUTING_TIMEOUT_MS + 1_000 + o.deployments * (o.deploymentTimeoutMs + o.settleMs) + o.requestTimeoutMs;
  return SETUP_AND_TEARDOWN_MS + o.variants.length * variant;
}

/** Failed requests by kind: `503 lb` (made by the load balancer), `200`-style app statuses, or an error code. */
export type FailureCounts = Record<string, number>;

/** One rolling deployment as measured. */
export interface DeploymentReport {
  readonly index: number;
  readonly revision: number;
  /** From deploy() to steady state (3 healthy new tasks, every old one stopped and removed). */
  readonly durationMs: number;
  /** From deploy() until the new tasks all counted as healthy to ECS. */
  readonly newTasksHealthyAfterMs: number;
  /** Requests sent from this deployment's start until the next one's (or the end of the load). */
  readonly sent: number;
  readonly failed: number;
  readonly skipped: number;
  readonly failures: FailureCounts;
  /** Requests the listener routed while no target was healthy (to `initial`/unhealthy targets). */
  readonly failOpen: number;
  /** Exit codes of the old tasks (137 = SIGKILL at stopTimeout). */
  readonly oldTaskExitCodes: readonly number[];
}

/** One variant's run. */
export interface VariantReport {
  readonly variant: Variant;
  /** What the task definition said, in words. */
  readonly taskDefinition: { readonly dockerLabels: Record<string, string>; readonly healthCheck: string; readonly stopTimeoutSeconds: number; readonly graceAfterSigtermSeconds: number };
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  readonly failures: FailureCounts;
  readonly failOpen: number;
  readonly latencyMs: LoadStats['latencyMs'];
  /**
   * The longest the process running the load and the listener was held up (event-loop delay, ms):
   * on a machine too loaded for it to keep up, requests time out in this process, not at the targets.
   */
  readonly loadProcessStallMs: number;
  readonly deployments: readonly DeploymentReport[];
  /** Set when the variant could not finish (a deployment timed out, the engine failed...). */
  readonly error?: string;
}

/** The whole measurement. */
export interface E2eDeployReport {
  readonly startedAt: string;
  readonly options: Omit<E2eDeployOptions, 'log' | 'runId' | 'variants'> & { readonly variants: readonly Variant[] };
  readonly runs: readonly VariantReport[];
  /** True when the gated run (if any) failed and skipped nothing and finished. */
  readonly gatedClean: boolean;
  /** Lines explaining the settings' consequences (e.g. a grace shorter than the propagation delay). */
  readonly notes: readonly string[];
}

/** What the run needs from its caller. */
export interface E2eDeployEnvironment {
  /** A client of the engine the agent uses (the agent child reads DOCKER_HOST from the environment). */
  readonly docker: Docker;
  /** Cleanups go here; the run runs it at its end, a signal handler may run it earlier. Default: a new one. */
  readonly teardown?: Teardown;
  /** Aborting stops between deployments (the teardown does the rest). */
  readonly signal?: AbortSignal;
}

/** Checks the options; throws one message naming every problem. */
export function validateOptions(o: E2eDeployOptions): void {
  const problems: string[] = [];
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) problems.push(`${name} must be an integer >= 1, not ${v}`);
  };
  positiveInt('deployments', o.deployments);
  positiveInt('desiredCount', o.desiredCount);
  if (!(o.ratePerSecond > 0) || !Number.isFinite(o.ratePerSecond)) problems.push(`rps must be > 0, not ${o.ratePerSecond}`);
  if (!(o.propagationDelayMs >= 0)) problems.push(`propagation delay must be >= 0, not ${o.propagationDelayMs}`);
  if (!(o.graceSeconds >= 0)) problems.push(`grace must be >= 0 seconds, not ${o.graceSeconds}`);
  if (!Number.isInteger(o.stopTimeoutSeconds) || o.stopTimeoutSeconds < 1) problems.push(`stop timeout must be an integer >= 1 second, not ${o.stopTimeoutSeconds}`);
  if (o.variants.length === 0) problems.push('no variant to run');
  for (const v of o.variants) if (!VARIANTS.includes(v)) problems.push(`unknown variant ${String(v)} (${VARIANTS.join(', ')})`);
  if (problems.length > 0) throw new Error(problems.join('; '));
}

/** Notes on what the settings mean for the result, printed with the table. */
export function settingNotes(o: E2eDeployOptions): string[] {
  const notes: string[] = [];
  const propagationS = o.propagationDelayMs / 1000;
  if (o.graceSeconds <= propagationS) {
    notes.push(
      `grace ${o.graceSeconds} s <= propagation delay ${propagationS} s: an old task stops serving while the load balancer still routes new requests to it ` +
        '(502 from the load balancer, or a reset connection); no readiness gate can prevent that: it is the app\'s SIGTERM behaviour and the stopTimeout that must cover the delay.',
    );
  }
  if (o.stopTimeoutSeconds <= o.graceSeconds) {
    notes.push(`stopTimeout ${o.stopTimeoutSeconds} s <= grace ${o.graceSeconds} s: Docker kills the app (SIGKILL, exit 137) before its grace ends.`);
  }
  if (o.targetGroup.deregistrationDelaySeconds < propagationS + o.requestTimeoutMs / 1000) {
    notes.push(`deregistration delay ${o.targetGroup.deregistrationDelaySeconds} s < propagation delay + longest request: in-flight requests of a draining target may be cut.`);
  }
  if (o.minimumHealthyPercent < 100) notes.push(`minimumHealthyPercent ${o.minimumHealthyPercent}: ECS stops old tasks before new ones are healthy, which no gate can help.`);
  return notes;
}

/** Failure counts keyed `503 lb` (the load balancer's own answer), `500` (the app's), or the error code. */
export function countFailures(failures: readonly LoadFailure[]): FailureCounts {
  const counts: FailureCounts = {};
  for (const f of failures) {
    const key = f.status !== undefined ? `${f.status}${f.fromLoadBalancer ? ' lb' : ''}` : (f.code ?? 'ERROR');
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Runs every variant and returns the report; cleans up everything it started, whatever happens. */
export async function runE2eDeploy(options: E2eDeployOptions, env: E2eDeployEnvironment): Promise<E2eDeployReport> {
  validateOptions(options);
  const log = options.log ?? (() => {});
  const teardown = env.teardown ?? new Teardown();
  const runId = options.runId ?? testRunId();
  const docker = env.docker;
  const startedAt = new Date().toISOString();
  const runs: VariantReport[] = [];
  try {
    await ensureTestImage(docker, { log });
    const elb = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', deregistrationDelaySeconds: options.targetGroup.deregistrationDelaySeconds });
    teardown.add('local ELBv2 endpoint', () => elb.close());
    teardown.add('test containers', () => removeTestContainers(docker, { runId }));
    const groups = new Map<Variant, string>();
    for (const variant of options.variants) {
      groups.set(variant, await elb.createTargetGroup({ name: `e2e-${variant}`, port: 80, healthCheckPath: '/', ...options.targetGroup }));
    }
    const gateway = await defaultBridgeGateway(docker);
    const agent = await startAgent(elb, [...groups.values()], teardown);
    log(`agent pid ${String(agent.pid)} running; readiness gate on http://${gateway}:${GATE_PORT}/ready`);
    for (const variant of options.variants) {
      if (env.signal?.aborted) break;
      const arn = groups.get(variant) as string;
      try {
        runs.push(await runVariant(variant, arn, { options, docker, elb, gateway, runId, teardown, log, ...(env.signal ? { signal: env.signal } : {}) }));
      } catch (error) {
        if (env.signal?.aborted || teardown.started) throw error;
        const message = error instanceof Error ? error.message : String(error);
        log(`${variant}: failed: ${message}\n--- agent output ---\n${agent.tail(30)}`);
        runs.push({ ...emptyRun(variant, options, arn, gateway), error: message });
      }
    }
  } finally {
    const problems = await teardown.run();
    for (const problem of problems) log(`cleanup: ${problem}`);
  }
  const gated = runs.find((r) => r.variant === 'gated');
  const { log: _log, runId: _runId, ...reported } = options;
  return {
    startedAt,
    options: reported,
    runs,
    gatedClean: gated === undefined || (gated.error === undefined && gated.failed === 0 && gated.skipped === 0 && gated.deployments.length === options.deployments),
    notes: settingNotes(options),
  };
}

async function startAgent(elb: LocalElbv2, groupArns: string[], teardown: Teardown): Promise<AgentProcess> {
  const state = tempDir('ecslb-e2e-deploy-');
  teardown.add('agent state directory', () => state.remove());
  const agent = new AgentProcess({
    env: {
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elb.url,
      AWS_REGION: elb.region,
      AWS_ACCESS_KEY_ID: 'AKIDE2EDEPLOY',
      AWS_SECRET_ACCESS_KEY: 'e2e-deploy',
      ECS_ANYWHERE_LB_HOST_IP: HOST_IP,
      ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: groupArns.join(','),
      ECS_ANYWHERE_LB_STATE_DIR: state.path,
      ECS_ANYWHERE_LB_LOG_FORMAT: 'json',
      ECS_ANYWHERE_LB_LOG_LEVEL: 'info',
      ECS_ANYWHERE_LB_ON_EXIT: 'keep',
      // A lone host: a gated registration is not spread over a fleet's window.
      ECS_ANYWHERE_LB_FLEET_SIZE: '1',
      // The default, said out loud: the gate on the Docker default bridge's gateway, port 9465.
      ECS_ANYWHERE_LB_READINESS_ADDRESS: 'auto',
      // No ECS agent answers here: no address attribute.
      ECS_ANYWHERE_LB_ECS_INTROSPECTION_ENDPOINT: 'off',
    },
  });
  teardown.add('agent process', () => agent.stop('SIGKILL'));
  await agent.ready(30_000);
  await Promise.race([
    agent.waitForLog((l) => l.event === 'gate-listening', 'readiness gate listening', 20_000),
    agent.waitForLog((l) => l.event === 'gate-failed', 'readiness gate failed', 20_000).then((l) => {
      throw new Error(`the agent could not serve the readiness gate: ${String(l.error ?? l.message)}`);
    }),
  ]);
  return agent;
}

interface VariantContext {
  readonly options: E2eDeployOptions;
  readonly docker: Docker;
  readonly elb: LocalElbv2;
  readonly gateway: string;
  readonly runId: string;
  readonly teardown: Teardown;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

function taskDefinitionFor(variant: Variant, options: E2eDeployOptions, arn: string, gateway: string): TaskDefinitionSpec {
  const url = variant === 'gated' ? `http://${gateway}:${GATE_PORT}/ready` : `http://127.0.0.1:${CONTAINER_PORT}/`;
  return {
    containerPort: CONTAINER_PORT,
    dockerLabels: { [AGENT_LABELS.targetGroupArn]: arn, ...(variant === 'gated' ? { [AGENT_LABELS.readinessGate]: 'true' } : {}) },
    healthCheck: { command: httpHealthCheckCommand(url), ...options.healthCheck },
    stopTimeoutSeconds: options.stopTimeoutSeconds,
    graceAfterSigtermSeconds: options.graceSeconds,
  };
}

function describeTaskDefinition(definition: TaskDefinitionSpec): VariantReport['taskDefinition'] {
  return {
    dockerLabels: { ...definition.dockerLabels },
    healthCheck: definition.healthCheck?.command.join(' ') ?? 'none',
    stopTimeoutSeconds: definition.stopTimeoutSeconds ?? 30,
    graceAfterSigtermSeconds: definition.graceAfterSigtermSeconds ?? 0,
  };
}

function emptyRun(variant: Variant, options: E2eDeployOptions, arn: string, gateway: string): VariantReport {
  return {
    variant,
    taskDefinition: describeTaskDefinition(taskDefinitionFor(variant, options, arn, gateway)),
    sent: 0, ok: 0, failed: 0, skipped: 0, failures: {}, failOpen: 0,
    latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
    loadProcessStallMs: 0,
    deployments: [],
  };
}

async function runVariant(variant: Variant, arn: string, ctx: VariantContext): Promise<VariantReport> {
  const { options, docker, elb, log } = ctx;
  const definition = taskDefinitionFor(variant, options, arn, ctx.gateway);
  const listener: LoadBalancerListener = await elb.createListener({ targetGroupArn: arn, propagationDelayMs: options.propagationDelayMs });
  let svc: EcsService | undefined;
  let load: LoadGenerator | undefined;
  const cleanup = new Teardown();
  ctx.teardown.add(`${variant} run`, () => cleanup.run());
  cleanup.add(`${variant} listener`, () => listener.close());
  try {
    log(`${variant}: starting ${options.desiredCount} tasks (${definition.healthCheck?.command.join(' ')})`);
    svc = await createService(docker, {
      family: uniqueFamily(`e2e-${variant}`),
      desiredCount: options.desiredCount,
      minimumHealthyPercent: options.minimumHealthyPercent,
      maximumPercent: options.maximumPercent,
      taskDefinition: definition,
      runId: ctx.runId,
      tickMs: 100,
      startTimeoutMs: options.deploymentTimeoutMs,
    });
    const service = svc;
    cleanup.add(`${variant} service`, () => service.close());
    await waitFor(() => listener.routing().eligible.length === options.desiredCount && !listener.routing().failOpen, {
      description: `${variant}: the listener routes to ${options.desiredCount} healthy targets`,
      timeoutMs: ROUTING_TIMEOUT_MS,
      intervalMs: 100,
    });
    listener.resetStats();
    const stall = monitorEventLoopDelay({ resolution: 20 });
    stall.enable();
    cleanup.add(`${variant} stall monitor`, () => stall.disable());
    const stallMs = () => Math.round(stall.max / 1e6);
    load = startLoad({ url: `${listener.url}/`, ratePerSecond: options.ratePerSecond, timeoutMs: options.requestTimeoutMs, maxFailureRecords: 10_000_000 });
    const running = load;
    cleanup.add(`${variant} load`, () => running.stop());
    await sleep(1_000);
    const windows: Array<{ startedAt: number; sentBefore: number; skippedBefore: number; failOpenBefore: number; result: Awaited<ReturnType<EcsService['deploy']>>; previousRevision: number }> = [];
    for (let i = 1; i <= options.deployments; i++) {
      if (ctx.signal?.aborted) break;
      const previousRevision = service.revision();
      const startedAt = Date.now();
      const failOpenBefore = listener.stats().failOpen;
      const { sent: sentBefore, skipped: skippedBefore } = running.stats();
      // A forced new deployment: a new revision with the same settings (what a new image tag does).
      const result = await service.deploy({}, { timeoutMs: options.deploymentTimeoutMs });
      windows.push({ startedAt, sentBefore, skippedBefore, failOpenBefore, result, previousRevision });
      await sleep(options.settleMs);
      const sofar = running.stats();
      log(`${variant}: deployment ${i}/${options.deployments} took ${(result.durationMs / 1000).toFixed(1)} s; ${sofar.failed} failed, ${sofar.skipped} skipped of ${sofar.sent} so far; longest stall of this process so far ${stallMs()} ms`);
    }
    const stats = await running.stop();
    const failOpenTotal = listener.stats().failOpen;
    const deployments = windows.map((w, k): DeploymentReport => {
      const next = windows[k + 1];
      const from = w.startedAt - stats.startedAt;
      const to = next ? next.startedAt - stats.startedAt : Number.POSITIVE_INFINITY;
      const failures = stats.failures.filter((f) => f.atMs >= from && f.atMs < to);
      return {
        index: k + 1,
        revision: w.result.revision,
        durationMs: w.result.durationMs,
        newTasksHealthyAfterMs: w.result.newTasksHealthyAfterMs,
        sent: (next ? next.sentBefore : stats.sent) - w.sentBefore,
        failed: failures.length,
        skipped: (next ? next.skippedBefore : stats.skipped) - w.skippedBefore,
        failures: countFailures(failures),
        failOpen: (next ? next.failOpenBefore : failOpenTotal) - w.failOpenBefore,
        oldTaskExitCodes: w.result.events.filter((e) => e.type === 'task-stopped' && e.revision === w.previousRevision && e.exitCode !== undefined).map((e) => e.exitCode as number),
      };
    });
    return {
      variant,
      taskDefinition: describeTaskDefinition(definition),
      sent: stats.sent,
      ok: stats.ok,
      failed: stats.failed,
      skipped: stats.skipped,
      failures: countFailures(stats.failures),
      failOpen: failOpenTotal,
      latencyMs: stats.latencyMs,
      loadProcessStallMs: stallMs(),
      deployments,
    };
  } finally {
    await cleanup.run();
  }
}
