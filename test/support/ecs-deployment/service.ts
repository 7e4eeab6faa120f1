/**
 * An ECS service on the real Docker engine, for deployment tests: N tasks, each one ECS-like
 * container (ecs-container.ts: the ECS agent's name scheme and labels, the task definition's
 * dockerLabels, bridge mode with a dynamic host port), kept at desiredCount and rolled to a
 * new task definition revision the way the ECS service scheduler does for an EXTERNAL service
 * (scheduler.ts decides; this file watches Docker and carries the decisions out).
 *
 * What it does like ECS:
 * - A task's `healthCheck` is the container's Docker HEALTHCHECK (command, interval, timeout,
 *   retries, startPeriod; ECS's defaults 30 s / 5 s / 3 / 0), and ECS reads only that one.
 * - Stopping a task is `docker stop -t stopTimeout` (SIGTERM, SIGKILL when the timeout passes;
 *   ECS default 30 s); the app may keep serving for `graceAfterSigtermSeconds` after SIGTERM.
 * - Tasks that turn UNHEALTHY are replaced, tasks that exit are restarted, all the time, not
 *   only during a deployment.
 * Not modelled: placement, the deployment circuit breaker, healthCheckGracePeriodSeconds.
 *
 * The scheduler polls Docker (inspect) every `tickMs`; every decision is an event with a
 * timestamp, and every tick leaves a capacity sample, so tests can check the limits held.
 */
import type Docker from 'dockerode';
import { newTaskArn, randomHex, startEcsContainer, testRunId } from '../ecs-container.ts';
import type { EcsContainer } from '../ecs-container.ts';
import { sleep } from '../wait.ts';
import { HEALTHY_AFTER_RUNNING_MS, countsHealthy, deploymentLimits, nextStep } from './scheduler.ts';
import type { SchedulerConfig, TaskHealth, TaskSnapshot, TaskStatus } from './scheduler.ts';

/** A container health check as in an ECS task definition, with times in ms (tests cannot wait 30 s). */
export interface ContainerHealthCheck {
  /** `['CMD-SHELL', '...']` or `['CMD', ...]`; exit 0 = healthy. */
  readonly command: readonly string[];
  /** Default 30 000 (ECS). */
  readonly intervalMs?: number;
  /** Default 5 000 (ECS). */
  readonly timeoutMs?: number;
  /** Default 3 (ECS). */
  readonly retries?: number;
  /** Default 0 (ECS: off). */
  readonly startPeriodMs?: number;
}

/** The one container of a task definition, and the task-level settings the emulator honours. */
export interface TaskDefinitionSpec {
  /** Default `app`. */
  readonly containerName?: string;
  /** The port httpd serves, published on a dynamic host port in bridge mode (default 8080). */
  readonly containerPort?: number;
  /** Default `bridge`; `host` only makes sense for one task per host. */
  readonly networkMode?: 'bridge' | 'host';
  /** Copied onto the container as labels, e.g. `ecs-anywhere-lb.target-group-arn`. */
  readonly dockerLabels?: Readonly<Record<string, string>>;
  readonly healthCheck?: ContainerHealthCheck;
  /** `docker stop -t` (ECS `stopTimeout`, default 30). */
  readonly stopTimeoutSeconds?: number;
  /** How long the app keeps serving after SIGTERM before it exits (default 0: it exits at once). */
  readonly graceAfterSigtermSeconds?: number;
  readonly env?: readonly string[];
}

/** Options of {@link createService}. */
export interface EcsServiceOptions {
  readonly family: string;
  readonly desiredCount: number;
  /** Default 100 (the ECS API's default). */
  readonly minimumHealthyPercent?: number;
  /** Default 200 (the ECS API's default). */
  readonly maximumPercent?: number;
  /** Revision 1. */
  readonly taskDefinition: TaskDefinitionSpec;
  readonly cluster?: string;
  /** How long a task without a health check must run to count as healthy (ECS: 40 000). */
  readonly healthyAfterRunningMs?: number;
  /** How often the scheduler looks at Docker (default 100). */
  readonly tickMs?: number;
  /** How long createService waits for the first steady state (default 60 000). */
  readonly startTimeoutMs?: number;
  /** Label value for cleanup (default the test run's id). */
  readonly runId?: string;
  /** Remove containers once their task stopped (default true; the ECS agent removes them hours later). */
  readonly removeStoppedContainers?: boolean;
  /** Called for every event as it happens. */
  readonly onEvent?: (event: ServiceEvent) => void;
}

/** What happened, when (epoch ms). */
export interface ServiceEvent {
  readonly at: number;
  readonly type:
    | 'deployment-started'
    | 'deployment-completed'
    | 'deployment-failed'
    | 'task-starting'
    | 'task-start-failed'
    | 'task-running'
    | 'task-healthy'
    | 'task-unhealthy'
    | 'task-stopping'
    | 'task-stopped';
  readonly revision: number;
  readonly taskArn?: string;
  readonly reason?: string;
  /** For task-stopped: the container's exit code (137 = SIGKILL after stopTimeout). */
  readonly exitCode?: number;
}

/** The service's capacity as the scheduler saw it at one tick. */
export interface CapacitySample {
  readonly at: number;
  /** PENDING + RUNNING (what maximumPercent bounds). */
  readonly active: number;
  /** Counting toward minimumHealthyPercent. */
  readonly healthy: number;
  readonly stopping: number;
  /** Active tasks per revision. */
  readonly byRevision: Readonly<Record<number, number>>;
}

/** One task as tests see it. */
export interface TaskView {
  readonly taskArn: string;
  readonly revision: number;
  readonly status: TaskStatus;
  readonly health: TaskHealth;
  readonly countsHealthy: boolean;
  /** Docker container id and name, once created. */
  readonly containerId?: string;
  readonly containerName?: string;
  readonly hostPort?: number;
  /** `http://127.0.0.1:<hostPort><path>`, once running. */
  url(path?: string): string;
  readonly createdAt: number;
  readonly runningSince?: number;
  readonly healthySince?: number;
  readonly stoppingSince?: number;
  readonly stoppedAt?: number;
  readonly stopReason?: string;
  readonly exitCode?: number;
  /** The harness handle (exec, setHealthy, logs...), once created. */
  readonly container?: EcsContainer;
}

/** What a finished deployment reports. */
export interface DeploymentResult {
  readonly revision: number;
  /** From deploy() to steady state: desiredCount healthy tasks of the revision and every old task stopped. */
  readonly durationMs: number;
  /** From deploy() until desiredCount tasks of the revision counted as healthy. */
  readonly newTasksHealthyAfterMs: number;
  /** Events of this deployment, oldest first. */
  readonly events: readonly ServiceEvent[];
  readonly samples: readonly CapacitySample[];
}

/** A running service. */
export interface EcsService {
  readonly family: string;
  readonly desiredCount: number;
  /** minHealthy and maxActive in tasks. */
  readonly limits: { readonly minHealthy: number; readonly maxActive: number };
  /** The revision the service runs (or is rolling to). */
  revision(): number;
  taskDefinition(): TaskDefinitionSpec;
  /**
   * Registers a new revision (the current definition with `changes` applied; none = a forced
   * new deployment of the same settings) and rolls the service to it; resolves at steady state.
   * One deployment at a time. Rejects when `timeoutMs` (default 120 000) passes first.
   */
  deploy(changes?: Partial<TaskDefinitionSpec>, options?: { readonly timeoutMs?: number }): Promise<DeploymentResult>;
  /** Tasks that are RUNNING and not being stopped. */
  runningTasks(): TaskView[];
  /** Every task the service had, stopped ones included, oldest first. */
  tasks(): TaskView[];
  /** Every event since creation. */
  events(): readonly ServiceEvent[];
  /** Every capacity sample since creation. */
  samples(): readonly CapacitySample[];
  /** Resolves once the service is at steady state (desiredCount healthy tasks of the revision, nothing stopping). */
  waitForSteadyState(timeoutMs?: number): Promise<void>;
  /** Stops the scheduler and force-removes every container (no graceful stop). */
  close(): Promise<void>;
}

interface TaskRecord {
  readonly id: string;
  readonly taskArn: string;
  readonly revision: number;
  readonly definition: TaskDefinitionSpec;
  status: TaskStatus;
  health: TaskHealth;
  container?: EcsContainer;
  hostPort?: number;
  readonly createdAt: number;
  runningSince?: number;
  healthySince?: number;
  stoppingSince?: number;
  stoppedAt?: number;
  stopReason?: string;
  exitCode?: number;
  /** A start or stop call is under way. */
  busy: boolean;
}

const DEFAULTS = {
  containerName: 'app',
  containerPort: 8080,
  stopTimeoutSeconds: 30,
  healthCheck: { intervalMs: 30_000, timeoutMs: 5_000, retries: 3, startPeriodMs: 0 },
  tickMs: 100,
  startTimeoutMs: 60_000,
  deployTimeoutMs: 120_000,
} as const;

/** Starts a service of `desiredCount` tasks of revision 1 and resolves at its first steady state. */
export async function createService(docker: Docker, options: EcsServiceOptions): Promise<EcsService> {
  const desiredCount = options.desiredCount;
  if (!Number.isInteger(desiredCount) || desiredCount < 0) throw new Error(`desiredCount must be an integer >= 0, not ${desiredCount}`);
  const config = {
    desiredCount,
    minimumHealthyPercent: options.minimumHealthyPercent ?? 100,
    maximumPercent: options.maximumPercent ?? 200,
    healthyAfterRunningMs: options.healthyAfterRunningMs ?? HEALTHY_AFTER_RUNNING_MS,
  };
  if (config.maximumPercent < 100 && desiredCount > 0) throw new Error(`maximumPercent must be >= 100, not ${config.maximumPercent}`);
  const limits = deploymentLimits(config);
  const cluster = options.cluster ?? 'test-cluster';
  const runId = options.runId ?? testRunId();
  const tickMs = options.tickMs ?? DEFAULTS.tickMs;
  const removeStopped = options.removeStoppedContainers ?? true;

  const definitions: TaskDefinitionSpec[] = [options.taskDefinition];
  const tasks: TaskRecord[] = [];
  const events: ServiceEvent[] = [];
  const samples: CapacitySample[] = [];
  const background = new Set<Promise<void>>();
  let closed = false;
  let startFailuresInARow = 0;
  let lastStartError = '';
  let deploying = false;

  const revision = () => definitions.length;
  const emit = (event: Omit<ServiceEvent, 'at'> & { at?: number }): void => {
    const full: ServiceEvent = { ...event, at: event.at ?? Date.now() };
    events.push(full);
    options.onEvent?.(full);
  };
  const snapshot = (task: TaskRecord): TaskSnapshot => ({
    id: task.id,
    revision: task.revision,
    status: task.status,
    health: task.health,
    hasHealthCheck: task.definition.healthCheck !== undefined,
    ...(task.runningSince !== undefined ? { runningSince: task.runningSince } : {}),
  });
  const schedulerConfig = (): SchedulerConfig => ({ ...config, targetRevision: revision() });
  const isHealthy = (task: TaskRecord, now = Date.now()) => countsHealthy(snapshot(task), now, config.healthyAfterRunningMs);
  const run = (work: Promise<void>): void => {
    background.add(work);
    void work.finally(() => background.delete(work));
  };

  const startTask = (): void => {
    const rev = revision();
    const definition = definitions[rev - 1] as TaskDefinitionSpec;
    const taskArn = newTaskArn(cluster);
    const task: TaskRecord = {
      id: taskArn.slice(-32),
      taskArn,
      revision: rev,
      definition,
      status: 'PENDING',
      health: 'UNKNOWN',
      createdAt: Date.now(),
      busy: true,
    };
    tasks.push(task);
    emit({ type: 'task-starting', revision: rev, taskArn });
    run(
      (async () => {
        try {
          const check = definition.healthCheck;
          task.container = await startEcsContainer(docker, {
            family: options.family,
            revision: rev,
            containerName: definition.containerName ?? DEFAULTS.containerName,
            cluster,
            taskArn,
            runId,
            page: `${options.family}:${rev} ${task.id}`,
            ports: [definition.containerPort ?? DEFAULTS.containerPort],
            networkMode: definition.networkMode ?? 'bridge',
            ...(definition.dockerLabels ? { dockerLabels: { ...definition.dockerLabels } } : {}),
            ...(check
              ? {
                  healthcheck: {
                    command: [...check.command],
                    intervalMs: check.intervalMs ?? DEFAULTS.healthCheck.intervalMs,
                    timeoutMs: check.timeoutMs ?? DEFAULTS.healthCheck.timeoutMs,
                    retries: check.retries ?? DEFAULTS.healthCheck.retries,
                    startPeriodMs: check.startPeriodMs ?? DEFAULTS.healthCheck.startPeriodMs,
                  },
                }
              : {}),
            stopTimeoutSec: definition.stopTimeoutSeconds ?? DEFAULTS.stopTimeoutSeconds,
            stopGraceSec: definition.graceAfterSigtermSeconds ?? 0,
            ...(definition.env ? { env: [...definition.env] } : {}),
            waitUntilServing: false,
          });
          task.hostPort = task.container.hostPort();
          startFailuresInARow = 0;
        } catch (error) {
          startFailuresInARow += 1;
          lastStartError = error instanceof Error ? error.message : String(error);
          task.status = 'STOPPED';
          task.stoppedAt = Date.now();
          task.stopReason = `CannotStartContainerError: ${lastStartError.split('\n')[0]}`;
          emit({ type: 'task-start-failed', revision: rev, taskArn, reason: task.stopReason });
        } finally {
          task.busy = false;
        }
      })(),
    );
  };

  const stopTask = (task: TaskRecord, reason: string): void => {
    task.status = 'STOPPING';
    task.stoppingSince = Date.now();
    task.stopReason = reason;
    task.busy = true;
    emit({ type: 'task-stopping', revision: task.revision, taskArn: task.taskArn, reason });
    run(
      (async () => {
        try {
          await task.container?.stop(task.definition.stopTimeoutSeconds ?? DEFAULTS.stopTimeoutSeconds);
        } catch {
          // Already gone: the next refresh records it stopped.
        } finally {
          task.busy = false;
        }
      })(),
    );
  };

  const markStopped = async (task: TaskRecord, exitCode: number | undefined, reason?: string): Promise<void> => {
    const stoppedAt = Date.now();
    // Removed before it counts as STOPPED, so that a steady state means no old container is left.
    if (removeStopped) await task.container?.remove().catch(() => undefined);
    if (task.status === 'STOPPED') return;
    task.status = 'STOPPED';
    task.stoppedAt = stoppedAt;
    if (reason !== undefined) task.stopReason = reason;
    if (exitCode !== undefined) task.exitCode = exitCode;
    emit({
      at: stoppedAt,
      type: 'task-stopped',
      revision: task.revision,
      taskArn: task.taskArn,
      ...(task.stopReason !== undefined ? { reason: task.stopReason } : {}),
      ...(exitCode !== undefined ? { exitCode } : {}),
    });
  };

  /** Reads one task's container state and records transitions. */
  const refresh = async (task: TaskRecord): Promise<void> => {
    if (!task.container || task.status === 'STOPPED') return;
    let state: Docker.ContainerInspectInfo['State'];
    try {
      state = (await task.container.inspect()).State;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) await markStopped(task, undefined, task.stopReason ?? 'Container removed');
      return;
    }
    if ((task.status as TaskStatus) === 'STOPPED') return; // changed while inspect ran
    const now = Date.now();
    if (!state.Running) {
      // A stop under way finishes when docker stop returns; an exit on its own ends the task now.
      if (task.status === 'STOPPING' && task.busy) return;
      if (task.status === 'PENDING' && task.busy) return;
      await markStopped(task, state.ExitCode, task.status === 'STOPPING' ? undefined : 'Essential container in task exited');
      return;
    }
    if (task.status === 'PENDING') {
      task.status = 'RUNNING';
      task.runningSince = now;
      emit({ type: 'task-running', revision: task.revision, taskArn: task.taskArn });
    }
    const health: TaskHealth = state.Health?.Status === 'healthy' ? 'HEALTHY' : state.Health?.Status === 'unhealthy' ? 'UNHEALTHY' : 'UNKNOWN';
    if (health !== task.health) {
      task.health = health;
      if (health === 'HEALTHY') {
        task.healthySince ??= now;
        emit({ type: 'task-healthy', revision: task.revision, taskArn: task.taskArn });
      } else if (health === 'UNHEALTHY') {
        emit({ type: 'task-unhealthy', revision: task.revision, taskArn: task.taskArn });
      }
    }
  };

  const sample = (now: number): void => {
    const active = tasks.filter((task) => task.status === 'PENDING' || task.status === 'RUNNING');
    const byRevision: Record<number, number> = {};
    for (const task of active) byRevision[task.revision] = (byRevision[task.revision] ?? 0) + 1;
    samples.push({
      at: now,
      active: active.length,
      healthy: active.filter((task) => isHealthy(task, now)).length,
      stopping: tasks.filter((task) => task.status === 'STOPPING').length,
      byRevision,
    });
  };

  const tick = async (): Promise<void> => {
    await Promise.all(tasks.filter((task) => task.status !== 'STOPPED').map((task) => refresh(task)));
    if (closed) return;
    // One clock reading for the time-based health below and the decision, so that the events
    // say exactly what the scheduler counted.
    const now = Date.now();
    for (const task of tasks) {
      if (task.definition.healthCheck === undefined && task.healthySince === undefined && isHealthy(task, now)) {
        task.healthySince = now;
        emit({ type: 'task-healthy', revision: task.revision, taskArn: task.taskArn, reason: 'RUNNING for healthyAfterRunningMs (no health check)' });
      }
    }
    const step = nextStep(tasks.filter((task) => task.status !== 'STOPPED').map(snapshot), schedulerConfig(), now);
    for (const { id, reason } of step.stop) {
      const task = tasks.find((candidate) => candidate.id === id);
      if (task && !task.busy) stopTask(task, reason);
    }
    for (let i = 0; i < step.start; i++) startTask();
    sample(now);
  };

  const steady = (): boolean => {
    const now = Date.now();
    const live = tasks.filter((task) => task.status !== 'STOPPED');
    return live.length === desiredCount && live.every((task) => task.revision === revision() && task.status === 'RUNNING' && isHealthy(task, now));
  };

  const waitFor = async (condition: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    const started = Date.now();
    while (!condition()) {
      if (closed) throw new Error(`${options.family}: closed while waiting for ${what}`);
      if (startFailuresInARow >= 5) throw new Error(`${options.family}: ${startFailuresInARow} tasks in a row failed to start: ${lastStartError}`);
      if (Date.now() - started > timeoutMs) throw new Error(`${options.family}: no ${what} after ${timeoutMs} ms; ${describeState()}`);
      await sleep(tickMs / 2);
    }
  };

  const describeState = (): string =>
    `tasks: ${tasks
      .filter((task) => task.status !== 'STOPPED')
      .map((task) => `r${task.revision}/${task.status}/${task.health}`)
      .join(', ')}`;

  const loop = (async () => {
    while (!closed) {
      try {
        await tick();
      } catch (error) {
        console.error(`ecs-deployment ${options.family}: scheduler tick failed`, error);
      }
      await sleep(tickMs);
    }
  })();

  const view = (task: TaskRecord): TaskView => ({
    taskArn: task.taskArn,
    revision: task.revision,
    status: task.status,
    health: task.health,
    countsHealthy: isHealthy(task),
    ...(task.container ? { containerId: task.container.id, containerName: task.container.name, container: task.container } : {}),
    ...(task.hostPort !== undefined ? { hostPort: task.hostPort } : {}),
    url: (path = '/') => {
      if (task.hostPort === undefined) throw new Error(`task ${task.id} has no host port yet`);
      return `http://127.0.0.1:${task.hostPort}${path}`;
    },
    createdAt: task.createdAt,
    ...(task.runningSince !== undefined ? { runningSince: task.runningSince } : {}),
    ...(task.healthySince !== undefined ? { healthySince: task.healthySince } : {}),
    ...(task.stoppingSince !== undefined ? { stoppingSince: task.stoppingSince } : {}),
    ...(task.stoppedAt !== undefined ? { stoppedAt: task.stoppedAt } : {}),
    ...(task.stopReason !== undefined ? { stopReason: task.stopReason } : {}),
    ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}),
  });

  let closing: Promise<void> | undefined;
  const service: EcsService = {
    family: options.family,
    desiredCount,
    limits,
    revision,
    taskDefinition: () => definitions[revision() - 1] as TaskDefinitionSpec,
    async deploy(changes = {}, deployOptions = {}) {
      if (deploying) throw new Error(`${options.family}: a deployment is in progress`);
      deploying = true;
      const startedAt = Date.now();
      const firstEvent = events.length;
      const firstSample = samples.length;
      try {
        definitions.push({ ...service.taskDefinition(), ...changes });
        const rev = revision();
        emit({ type: 'deployment-started', revision: rev });
        const timeoutMs = deployOptions.timeoutMs ?? DEFAULTS.deployTimeoutMs;
        const newHealthy = () => tasks.filter((task) => task.revision === rev && task.status === 'RUNNING' && isHealthy(task)).length >= desiredCount;
        try {
          await waitFor(newHealthy, timeoutMs, `${desiredCount} healthy tasks of revision ${rev}`);
          const newTasksHealthyAfterMs = Date.now() - startedAt;
          await waitFor(steady, Math.max(0, timeoutMs - newTasksHealthyAfterMs), `steady state at revision ${rev}`);
          emit({ type: 'deployment-completed', revision: rev });
          return {
            revision: rev,
            durationMs: Date.now() - startedAt,
            newTasksHealthyAfterMs,
            events: events.slice(firstEvent),
            samples: samples.slice(firstSample),
          };
        } catch (error) {
          emit({ type: 'deployment-failed', revision: rev, reason: error instanceof Error ? error.message : String(error) });
          throw error;
        }
      } finally {
        deploying = false;
      }
    },
    runningTasks: () => tasks.filter((task) => task.status === 'RUNNING').map(view),
    tasks: () => tasks.map(view),
    events: () => events,
    samples: () => samples,
    waitForSteadyState: (timeoutMs = DEFAULTS.startTimeoutMs) => waitFor(steady, timeoutMs, 'steady state'),
    close() {
      closing ??= (async () => {
        closed = true;
        await loop;
        await Promise.allSettled([...background]);
        await Promise.all(tasks.map((task) => task.container?.remove().catch(() => undefined)));
      })();
      return closing;
    },
  };

  emit({ type: 'deployment-started', revision: 1 });
  try {
    await service.waitForSteadyState(options.startTimeoutMs ?? DEFAULTS.startTimeoutMs);
  } catch (error) {
    await service.close();
    throw error;
  }
  emit({ type: 'deployment-completed', revision: 1 });
  return service;
}

/** A random suffix for service families, so parallel tests never share container names. */
export function uniqueFamily(prefix: string): string {
  return `${prefix}-${randomHex(6)}`;
}
