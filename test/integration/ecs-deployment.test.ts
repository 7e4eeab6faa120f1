// The ECS deployment emulator (test/support/ecs-deployment/) on the shared real Docker engine:
// rolling updates keep within minimumHealthyPercent and maximumPercent at every moment (the
// scheduler's own events, and Docker's health as seen from outside), unhealthy tasks are
// replaced, tasks without a health check count after the RUNNING wait, and stopping honours
// the app's SIGTERM grace and the stopTimeout's SIGKILL.
import Docker from 'dockerode';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ECS_LABELS } from '../support/ecs-container.ts';
import { AGENT_LABELS, appHealthCheckCommand, capacityOverTime, createService, defaultBridgeGateway, uniqueFamily } from '../support/ecs-deployment/index.ts';
import type { EcsService, EcsServiceOptions, ServiceEvent } from '../support/ecs-deployment/index.ts';
import { sleep } from '../support/wait.ts';

const docker = new Docker();
const runId = inject('testRunId');
const TARGET_GROUP_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const HEALTH_CHECK = { command: appHealthCheckCommand(8080), intervalMs: 250, timeoutMs: 1_000, retries: 2 };
const services: EcsService[] = [];

afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
});

async function service(options: Omit<EcsServiceOptions, 'runId'>): Promise<EcsService> {
  const created = await createService(docker, { runId, tickMs: 50, ...options });
  services.push(created);
  return created;
}

/** Capacity points from the start of the deployment of `revision` on. */
function pointsOf(events: readonly ServiceEvent[], revision: number) {
  const points = capacityOverTime(events);
  const startedAt = events.find((e) => e.type === 'deployment-started' && e.revision === revision)?.at ?? 0;
  return points.filter((p) => p.at >= startedAt);
}

/** Polls Docker (not the emulator) for the service's containers that Docker reports healthy. */
function watchDockerHealth(family: string) {
  let stop = false;
  const counts: number[] = [];
  const done = (async () => {
    while (!stop) {
      const containers = await docker.listContainers({ filters: { label: [`${ECS_LABELS.family}=${family}`] } });
      counts.push(containers.filter((c) => c.Status.includes('(healthy)')).length);
      await sleep(50);
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return counts;
    },
  };
}

describe('rolling update', () => {
  it('keeps within 50/150 of 4 tasks at every moment and uses the room both limits give', async () => {
    const family = uniqueFamily('roll');
    const svc = await service({
      family,
      desiredCount: 4,
      minimumHealthyPercent: 50,
      maximumPercent: 150,
      taskDefinition: { healthCheck: HEALTH_CHECK, stopTimeoutSeconds: 2, dockerLabels: { [AGENT_LABELS.targetGroupArn]: TARGET_GROUP_ARN } },
    });
    expect(svc.limits).toEqual({ minHealthy: 2, maxActive: 6 });
    const watcher = watchDockerHealth(family);
    const result = await svc.deploy();
    const dockerHealthy = await watcher.stop();

    expect(result.revision).toBe(2);
    const points = pointsOf(svc.events(), 2);
    expect(Math.max(...points.map((p) => p.active))).toBe(6);
    expect(Math.min(...points.map((p) => p.healthy))).toBe(2);
    expect(points.every((p) => p.active <= 6 && p.healthy >= 2)).toBe(true);
    expect(result.samples.every((s) => s.active <= 6 && s.healthy >= 2)).toBe(true);
    expect(Math.min(...dockerHealthy)).toBeGreaterThanOrEqual(2);

    const running = svc.runningTasks();
    expect(running).toHaveLength(4);
    expect(running.every((t) => t.revision === 2 && t.countsHealthy)).toBe(true);
    const containers = await docker.listContainers({ all: true, filters: { label: [`${ECS_LABELS.family}=${family}`] } });
    expect(containers.map((c) => c.Labels[ECS_LABELS.version]).sort()).toEqual(['2', '2', '2', '2']);
    expect(containers.every((c) => c.Labels[AGENT_LABELS.targetGroupArn] === TARGET_GROUP_ARN)).toBe(true);
    expect(result.durationMs).toBeGreaterThanOrEqual(result.newTasksHealthyAfterMs);
  });

  it('100/200: starts every new task first and stops an old one only per healthy new one', async () => {
    const family = uniqueFamily('safe');
    const svc = await service({ family, desiredCount: 3, taskDefinition: { healthCheck: HEALTH_CHECK, stopTimeoutSeconds: 2 } });
    expect(svc.limits).toEqual({ minHealthy: 3, maxActive: 6 });
    const watcher = watchDockerHealth(family);
    const result = await svc.deploy();
    const dockerHealthy = await watcher.stop();

    const points = pointsOf(svc.events(), 2);
    expect(points.every((p) => p.active <= 6 && p.healthy >= 3)).toBe(true);
    expect(Math.min(...dockerHealthy)).toBeGreaterThanOrEqual(3);
    const firstStop = result.events.findIndex((e) => e.type === 'task-stopping');
    expect(result.events.slice(0, firstStop).filter((e) => e.type === 'task-starting')).toHaveLength(3);
    // Every old task stopped after at least as many new tasks were healthy.
    let healthyNew = 0;
    let stoppedOld = 0;
    for (const event of result.events) {
      if (event.type === 'task-healthy' && event.revision === 2) healthyNew += 1;
      if (event.type === 'task-stopping' && event.revision === 1) {
        stoppedOld += 1;
        expect(healthyNew).toBeGreaterThanOrEqual(stoppedOld);
      }
    }
    expect(stoppedOld).toBe(3);
  });

  it('0/100 (the CDK ExternalService defaults): stops every old task before starting a new one', async () => {
    const svc = await service({ family: uniqueFamily('cdk'), desiredCount: 2, minimumHealthyPercent: 0, maximumPercent: 100, taskDefinition: { healthCheck: HEALTH_CHECK, stopTimeoutSeconds: 2 } });
    const result = await svc.deploy();
    const types = result.events.filter((e) => e.type === 'task-stopping' || e.type === 'task-starting').map((e) => `${e.type}:${e.revision}`);
    expect(types).toEqual(['task-stopping:1', 'task-stopping:1', 'task-starting:2', 'task-starting:2']);
    expect(Math.min(...pointsOf(svc.events(), 2).map((p) => p.healthy))).toBe(0);
  });

  it('counts a task without a health check as healthy only after the wait after RUNNING', async () => {
    const WAIT_MS = 1_500;
    const svc = await service({ family: uniqueFamily('plain'), desiredCount: 1, healthyAfterRunningMs: WAIT_MS, taskDefinition: { stopTimeoutSeconds: 2 } });
    const result = await svc.deploy();
    const newTask = svc.tasks().find((t) => t.revision === 2);
    const oldTask = svc.tasks().find((t) => t.revision === 1);
    expect(newTask?.runningSince).toBeDefined();
    expect(oldTask?.stoppingSince).toBeDefined();
    expect((oldTask?.stoppingSince ?? 0) - (newTask?.runningSince ?? 0)).toBeGreaterThanOrEqual(WAIT_MS);
    expect(result.events.some((e) => e.type === 'task-healthy' && e.reason?.includes('no health check'))).toBe(true);
  });

  it('refuses a second deployment while one runs, and times out a deployment that cannot progress', async () => {
    const svc = await service({ family: uniqueFamily('stuck'), desiredCount: 1, taskDefinition: { healthCheck: HEALTH_CHECK, stopTimeoutSeconds: 1 } });
    // The new revision's tasks never turn healthy: its check asks for a page that does not exist.
    const failing = svc.deploy({ healthCheck: { ...HEALTH_CHECK, command: ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:8080/missing || exit 1'] } }, { timeoutMs: 3_000 });
    await expect(svc.deploy()).rejects.toThrow(/in progress/);
    await expect(failing).rejects.toThrow(/no 1 healthy tasks of revision 2/);
    // The old task kept serving all along: ECS never stops it without a healthy replacement.
    const old = svc.tasks().find((t) => t.revision === 1);
    expect(old?.status).toBe('RUNNING');
    expect((await fetch(old?.url() ?? '')).status).toBe(200);
  });
});

describe('unhealthy tasks', () => {
  it('replaces a task that turns UNHEALTHY: the replacement first, then the unhealthy task stops', async () => {
    const svc = await service({ family: uniqueFamily('heal'), desiredCount: 2, taskDefinition: { healthCheck: HEALTH_CHECK, stopTimeoutSeconds: 2 } });
    const [sick] = svc.runningTasks();
    const from = svc.events().length;
    await sick?.container?.setHealthy(false);
    const stopped = async () => svc.tasks().find((t) => t.taskArn === sick?.taskArn)?.status === 'STOPPED';
    for (let i = 0; i < 200 && !(await stopped()); i++) await sleep(50);
    await svc.waitForSteadyState(10_000);

    const events = svc.events().slice(from);
    const at = (type: ServiceEvent['type'], mine: boolean) => events.findIndex((e) => e.type === type && (e.taskArn === sick?.taskArn) === mine);
    expect(at('task-unhealthy', true)).toBeGreaterThanOrEqual(0);
    expect(at('task-starting', false)).toBeGreaterThan(at('task-unhealthy', true));
    expect(at('task-healthy', false)).toBeGreaterThan(at('task-starting', false));
    expect(at('task-stopping', true)).toBeGreaterThan(at('task-healthy', false));
    expect(events[at('task-stopping', true)]?.reason).toBe('Task failed container health checks');
    const running = svc.runningTasks();
    expect(running).toHaveLength(2);
    expect(running.map((t) => t.taskArn)).not.toContain(sick?.taskArn);
  });

  it('restarts a task whose container exits on its own', async () => {
    const svc = await service({ family: uniqueFamily('crash'), desiredCount: 1, taskDefinition: { healthCheck: HEALTH_CHECK } });
    const [task] = svc.runningTasks();
    await task?.container?.kill('SIGKILL');
    for (let i = 0; i < 100 && svc.tasks().find((t) => t.taskArn === task?.taskArn)?.status !== 'STOPPED'; i++) await sleep(50);
    await svc.waitForSteadyState(10_000);
    const gone = svc.tasks().find((t) => t.taskArn === task?.taskArn);
    expect(gone).toMatchObject({ status: 'STOPPED', stopReason: 'Essential container in task exited', exitCode: 137 });
    expect(svc.runningTasks()).toHaveLength(1);
  });
});

describe('stopping', () => {
  it('honours the SIGTERM grace, SIGKILLs at stopTimeout, and an app without grace stops serving at once', async () => {
    const svc = await service({ family: uniqueFamily('grace'), desiredCount: 1, taskDefinition: { healthCheck: HEALTH_CHECK, graceAfterSigtermSeconds: 2, stopTimeoutSeconds: 10 } });
    const served: Array<{ revision: number; sinceStopMs: number; ok: boolean }> = [];
    const unsubscribe = watchStoppingTasks(svc, served);

    // Revision 1 keeps serving for 2 s after SIGTERM, then exits 0.
    await svc.deploy({ graceAfterSigtermSeconds: 30, stopTimeoutSeconds: 1 });
    const first = svc.tasks().find((t) => t.revision === 1);
    expect(first?.exitCode).toBe(0);
    const firstStopMs = (first?.stoppedAt ?? 0) - (first?.stoppingSince ?? 0);
    expect(firstStopMs).toBeGreaterThanOrEqual(1_800);
    expect(firstStopMs).toBeLessThan(4_500);
    expect(served.some((s) => s.revision === 1 && s.ok && s.sinceStopMs >= 1_000)).toBe(true);

    // Revision 2's grace (30 s) outlasts its stopTimeout (1 s): SIGKILL.
    await svc.deploy({ graceAfterSigtermSeconds: 0, stopTimeoutSeconds: 10 });
    const second = svc.tasks().find((t) => t.revision === 2);
    expect(second?.exitCode).toBe(137);
    const secondStopMs = (second?.stoppedAt ?? 0) - (second?.stoppingSince ?? 0);
    expect(secondStopMs).toBeGreaterThanOrEqual(900);
    expect(secondStopMs).toBeLessThan(4_000);

    // Revision 3 has no grace: it exits at SIGTERM and refuses connections right away.
    await svc.deploy();
    const third = svc.tasks().find((t) => t.revision === 3);
    expect(third?.exitCode).toBe(0);
    expect((third?.stoppedAt ?? 0) - (third?.stoppingSince ?? 0)).toBeLessThan(1_500);
    expect(served.filter((s) => s.revision === 3 && s.sinceStopMs >= 500).every((s) => !s.ok)).toBe(true);
    unsubscribe();
  });
});

describe('the app', () => {
  it('finishes a request in flight at SIGTERM within its grace (the image\'s /cgi-bin/sleep holds one)', async () => {
    const svc = await service({ family: uniqueFamily('inflight'), desiredCount: 1, taskDefinition: { healthCheck: HEALTH_CHECK, graceAfterSigtermSeconds: 8, stopTimeoutSeconds: 15 } });
    const [old] = svc.runningTasks();
    const started = Date.now();
    // Long enough to still be in flight when the old task is stopped, even on a loaded machine where the
    // new task takes seconds to turn healthy (the deployment stops the old task only after that).
    const slow = fetch(old?.url('/cgi-bin/sleep?5') ?? '').then(async (r) => ({ status: r.status, body: (await r.text()).trim(), ms: Date.now() - started }));
    await sleep(200);
    await svc.deploy();
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.body).toContain(`${old?.taskArn.slice(-32)}`);
    expect(answer.ms).toBeGreaterThanOrEqual(4_900);
    const stopped = svc.tasks().find((t) => t.taskArn === old?.taskArn);
    expect(stopped?.exitCode).toBe(0);
    expect(stopped?.stoppingSince ?? Infinity).toBeLessThan(started + answer.ms);
  });
});

describe('helpers', () => {
  it('finds the default bridge gateway that bridge-mode tasks reach the host at', async () => {
    const gateway = await defaultBridgeGateway(docker);
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.1$/);
    const svc = await service({ family: uniqueFamily('gw'), desiredCount: 1, taskDefinition: {}, healthyAfterRunningMs: 0 });
    const route = await svc.runningTasks()[0]?.container?.exec(['ip', 'route']);
    expect(route?.stdout).toContain(`default via ${gateway}`);
  });
});

/** Polls the URL of every task from the moment it is asked to stop, recording whether it still answers. */
function watchStoppingTasks(svc: EcsService, served: Array<{ revision: number; sinceStopMs: number; ok: boolean }>): () => void {
  let stop = false;
  const watching = new Set<string>();
  const timer = setInterval(() => {
    for (const task of svc.tasks()) {
      if (task.status !== 'STOPPING' || watching.has(task.taskArn) || task.stoppingSince === undefined) continue;
      watching.add(task.taskArn);
      const url = task.url('/');
      const since = task.stoppingSince;
      void (async () => {
        while (!stop && Date.now() - since < 6_000) {
          const ok = await fetch(url, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false);
          served.push({ revision: task.revision, sinceStopMs: Date.now() - since, ok });
          await sleep(100);
        }
      })();
    }
  }, 20);
  return () => {
    stop = true;
    clearInterval(timer);
  };
}
