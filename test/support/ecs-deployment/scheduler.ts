/**
 * The ECS service scheduler's decision for a rolling update (deployment type ECS) of a service
 * without a load balancer, as the launch type EXTERNAL has it: given the tasks and the
 * deployment configuration, which tasks to start and which to stop now. Pure: the service
 * (service.ts) feeds in what Docker shows and carries the decision out.
 *
 * The rules, from the Amazon ECS documentation:
 * - `minimumHealthyPercent`: "a lower limit on the number of your service's tasks that must
 *   remain in the RUNNING state during a deployment, as a percentage of the desiredCount
 *   (rounded up to the nearest integer)"; `maximumPercent`: "an upper limit on the number of
 *   your service's tasks that are allowed in the RUNNING or PENDING state during a deployment,
 *   as a percentage of the desiredCount (rounded down to the nearest integer)" (DeploymentConfiguration,
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html).
 *   API defaults: 100 and 200.
 * - For services that do not use a load balancer: "If a task has no essential containers with a
 *   health check defined, the service scheduler will wait for 40 seconds after a task reaches a
 *   RUNNING state before the task is counted towards the minimum healthy percent total. If a task
 *   has one or more essential containers with a health check defined, the service scheduler will
 *   wait for the task to reach a healthy status before counting it towards the minimum healthy
 *   percent total" (same page).
 * - Unhealthy tasks: "the Amazon ECS service scheduler will start replacement tasks first and
 *   maintain minimumHealthyPercent tasks until the replacement tasks become healthy. As the
 *   replacement tasks launch and become healthy, the unhealthy tasks will gradually be stopped";
 *   "If any tasks are unhealthy and if maximumPercent doesn't allow the Amazon ECS scheduler to
 *   start replacement tasks, the scheduler stops the unhealthy tasks one-by-one"
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html and the
 *   DeploymentConfiguration reference).
 *
 * A task the scheduler has asked to stop (STOPPING) no longer counts as RUNNING or healthy, so
 * it counts toward neither limit, whatever its container is still doing during stopTimeout.
 */

/** A task's lifecycle as the emulator tracks it (ECS has more steps; these are the ones that matter here). */
export type TaskStatus = 'PENDING' | 'RUNNING' | 'STOPPING' | 'STOPPED';

/** A container health check's verdict as ECS reports it (UNKNOWN: no check, or still in its start period). */
export type TaskHealth = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY';

/** What the scheduler knows of one task. */
export interface TaskSnapshot {
  readonly id: string;
  readonly revision: number;
  readonly status: TaskStatus;
  readonly health: TaskHealth;
  readonly hasHealthCheck: boolean;
  /** When it reached RUNNING (ms), if it did. */
  readonly runningSince?: number;
}

/** The service's deployment configuration and target. */
export interface SchedulerConfig {
  readonly desiredCount: number;
  readonly minimumHealthyPercent: number;
  readonly maximumPercent: number;
  /** The task definition revision the service should run. */
  readonly targetRevision: number;
  /** How long a task without a health check must be RUNNING to count as healthy (ECS: 40 s). */
  readonly healthyAfterRunningMs: number;
}

/** ECS's wait before a task without a health check counts as healthy. */
export const HEALTHY_AFTER_RUNNING_MS = 40_000;

/** What to do now. */
export interface SchedulerStep {
  /** New tasks of the target revision to start. */
  readonly start: number;
  readonly stop: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
}

/** The two limits in tasks: at least `minHealthy` healthy, at most `maxActive` PENDING or RUNNING. */
export function deploymentLimits(config: Pick<SchedulerConfig, 'desiredCount' | 'minimumHealthyPercent' | 'maximumPercent'>): { minHealthy: number; maxActive: number } {
  return {
    minHealthy: Math.ceil((config.desiredCount * config.minimumHealthyPercent) / 100),
    maxActive: Math.floor((config.desiredCount * config.maximumPercent) / 100),
  };
}

/** Whether a task counts toward minimumHealthyPercent at `now`. */
export function countsHealthy(task: TaskSnapshot, now: number, healthyAfterRunningMs: number): boolean {
  if (task.status !== 'RUNNING') return false;
  if (task.hasHealthCheck) return task.health === 'HEALTHY';
  return task.runningSince !== undefined && now - task.runningSince >= healthyAfterRunningMs;
}

/** The scheduler's next step for `tasks` (all the service's tasks, in any status). */
export function nextStep(tasks: readonly TaskSnapshot[], config: SchedulerConfig, now: number): SchedulerStep {
  const { minHealthy, maxActive } = deploymentLimits(config);
  const isHealthy = (task: TaskSnapshot) => countsHealthy(task, now, config.healthyAfterRunningMs);
  const active = tasks.filter((task) => task.status === 'PENDING' || task.status === 'RUNNING');
  const unhealthy = active.filter((task) => task.health === 'UNHEALTHY');
  const current = active.filter((task) => task.revision === config.targetRevision && task.health !== 'UNHEALTHY');
  const start = Math.max(0, Math.min(config.desiredCount - current.length, maxActive - active.length));

  const stop: Array<{ id: string; reason: string }> = [];
  let healthy = active.filter(isHealthy).length;

  // Unhealthy tasks go as healthy replacements come in; when no replacement can start, one at a time.
  const healthyCurrent = current.filter(isHealthy).length;
  let replaceable = Math.max(0, healthyCurrent + unhealthy.length - config.desiredCount);
  const stoppingUnhealthy = tasks.some((task) => task.status === 'STOPPING' && task.health === 'UNHEALTHY');
  if (replaceable === 0 && start === 0 && active.length >= maxActive && !stoppingUnhealthy && unhealthy.length > 0) replaceable = 1;
  for (const task of unhealthy.slice(0, replaceable)) stop.push({ id: task.id, reason: 'Task failed container health checks' });

  // Tasks of older revisions, and surplus ones: those not counting as healthy first, then healthy
  // ones, oldest first, as long as minimumHealthyPercent holds.
  const old = active.filter((task) => task.revision !== config.targetRevision && task.health !== 'UNHEALTHY');
  const surplus = current.length > config.desiredCount ? [...current].sort(newestFirst).slice(0, current.length - config.desiredCount) : [];
  const candidates = [
    ...old.map((task) => ({ task, reason: `Replaced by revision ${config.targetRevision}` })),
    ...surplus.map((task) => ({ task, reason: 'Scaling down: more tasks than desired' })),
  ].sort((a, b) => Number(isHealthy(a.task)) - Number(isHealthy(b.task)) || (a.task.runningSince ?? Infinity) - (b.task.runningSince ?? Infinity));
  for (const { task, reason } of candidates) {
    if (isHealthy(task)) {
      if (healthy - 1 < minHealthy) continue;
      healthy -= 1;
    }
    stop.push({ id: task.id, reason });
  }
  return { start, stop };
}

function newestFirst(a: TaskSnapshot, b: TaskSnapshot): number {
  return (b.runningSince ?? Infinity) - (a.runningSince ?? Infinity);
}
