// The deployment test bench put together without the agent: the ECS emulator rolls a service
// on the real Docker engine, a stand-in registrar puts each task in the target group when it
// runs and takes it out when ECS stops it (what the agent does, idealised), the local load
// balancer's listener routes a steady load to the tasks with a propagation delay, and the load
// generator counts every failure. It shows the bench measures what matters: an app that exits
// at SIGTERM loses requests the load balancer still sends; a SIGTERM grace longer than the
// propagation delay loses none; a registration that lags the container's own health loses
// requests because ECS stops the old tasks before the new ones are routable (what a readiness
// gate prevents).
import { DeregisterTargetsCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { appHealthCheckCommand, createService, uniqueFamily } from '../support/ecs-deployment/index.ts';
import type { EcsService, ServiceEvent, TaskDefinitionSpec } from '../support/ecs-deployment/index.ts';
import { startLocalElbv2 } from '../support/local-elbv2/index.ts';
import type { LocalElbv2, LoadBalancerListener } from '../support/local-elbv2/index.ts';
import { createTestClient } from '../support/local-elbv2/test-client.ts';
import { startLoad } from '../support/load-generator.ts';
import type { LoadStats } from '../support/load-generator.ts';
import { sleep, waitFor } from '../support/wait.ts';

const HOST_IP = '10.8.0.10';
const PROPAGATION_MS = 1_000;
const RATE = 50;
const docker = new Docker();
const runId = inject('testRunId');
let elb: LocalElbv2;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  elb = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', healthCheckIntervalMs: 100, healthCheckTimeoutMs: 500 });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await elb?.close();
});

/** Registers a task's host port when it runs (after `registerLagMs`) and deregisters it when ECS stops it. */
function registrar(arn: string, registerLagMs: number) {
  const client = createTestClient(elb, { maxAttempts: 3 });
  let service: EcsService | undefined;
  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  const portOf = (event: ServiceEvent) => service?.tasks().find((t) => t.taskArn === event.taskArn)?.hostPort;
  return {
    attach(svc: EcsService) {
      service = svc;
    },
    onEvent(event: ServiceEvent) {
      if (event.type === 'task-running') {
        track(
          (async () => {
            await sleep(registerLagMs);
            const port = portOf(event);
            if (port !== undefined) await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: HOST_IP, Port: port, AvailabilityZone: 'all' }] }));
          })(),
        );
      } else if (event.type === 'task-stopping') {
        const port = portOf(event);
        if (port !== undefined) track(client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: HOST_IP, Port: port }] })));
      }
    },
    async close() {
      await Promise.allSettled([...pending]);
      client.destroy();
    },
  };
}

interface Bench {
  svc: EcsService;
  listener: LoadBalancerListener;
  arn: string;
}

async function bench(name: string, taskDefinition: TaskDefinitionSpec, registerLagMs = 0): Promise<Bench> {
  const arn = await elb.createTargetGroup({ name, port: 80, healthCheckPath: '/health', healthyThresholdCount: 2, unhealthyThresholdCount: 2, deregistrationDelaySeconds: 5 });
  const listener = await elb.createListener({ targetGroupArn: arn, propagationDelayMs: PROPAGATION_MS });
  const reg = registrar(arn, registerLagMs);
  const svc = await createService(docker, {
    family: uniqueFamily(name),
    desiredCount: 2,
    runId,
    tickMs: 50,
    taskDefinition: { healthCheck: { command: appHealthCheckCommand(), intervalMs: 250, timeoutMs: 1_000, retries: 2 }, ...taskDefinition },
    onEvent: (event) => reg.onEvent(event),
  });
  reg.attach(svc);
  cleanups.push(async () => {
    await svc.close();
    await reg.close();
    await listener.close();
  });
  // The first tasks started before attach(): register them now, then wait until the listener routes to both.
  const client = createTestClient(elb);
  await client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: svc.runningTasks().map((t) => ({ Id: HOST_IP, Port: t.hostPort, AvailabilityZone: 'all' })) }));
  client.destroy();
  await waitFor(() => listener.routing().eligible.length === 2 && !listener.routing().failOpen, { description: `${name}: both first tasks routable`, timeoutMs: 10_000 });
  return { svc, listener, arn };
}

/** Runs one deployment under load, the load going on until the old tasks' drain is over. */
async function deployUnderLoad({ svc, listener }: Bench, changes: Partial<TaskDefinitionSpec> = {}): Promise<LoadStats> {
  const load = startLoad({ url: `${listener.url}/`, ratePerSecond: RATE, timeoutMs: 3_000 });
  await sleep(500);
  await svc.deploy(changes);
  await sleep(PROPAGATION_MS + 1_000);
  return load.stop();
}

describe('deployment traffic (stand-in registrar, no agent)', () => {
  it('an app that exits at SIGTERM fails requests the load balancer still sends it', async () => {
    const stats = await deployUnderLoad(await bench('bench-nograce', { graceAfterSigtermSeconds: 0, stopTimeoutSeconds: 5 }));
    expect(stats.sent).toBeGreaterThan(RATE * 2);
    expect(stats.failed).toBeGreaterThan(0);
    // The listener's own 502s (connection refused by a stopped task still in its routing view).
    expect(stats.failures.some((f) => f.status === 502 && f.fromLoadBalancer)).toBe(true);
  });

  it('a SIGTERM grace longer than the propagation delay fails no request', async () => {
    const stats = await deployUnderLoad(await bench('bench-grace', { graceAfterSigtermSeconds: 2.5, stopTimeoutSeconds: 5 }));
    expect(stats.sent).toBeGreaterThan(RATE * 2);
    expect({ failed: stats.failed, skipped: stats.skipped, statuses: stats.statuses, errors: stats.errors }).toEqual({ failed: 0, skipped: 0, statuses: {}, errors: {} });
  });

  it('a registration that lags the container health check fails requests even with a grace: ECS stops old tasks too early', async () => {
    const b = await bench('bench-lag', { graceAfterSigtermSeconds: 2.5, stopTimeoutSeconds: 5 }, 1_500);
    const stats = await deployUnderLoad(b);
    expect(stats.failed).toBeGreaterThan(0);
    // Only draining targets were left in the listener's view: 503 from the load balancer.
    expect(stats.failures.some((f) => f.status === 503 && f.fromLoadBalancer)).toBe(true);
  });
});
