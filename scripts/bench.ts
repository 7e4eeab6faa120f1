// `npm run bench`: measures the agent against a real Docker engine and the local ELBv2
// endpoint, and prints figures plus one JSON line:
//  - latency from Docker's `start` event to the RegisterTargets request, and from `kill` to
//    DeregisterTargets, for containers started and stopped one at a time (p50/p90/p99/max);
//  - API calls spent on a burst of containers started at once (events coalesce into passes);
//  - the agent's resident memory idle with the containers running.
// Options: --containers N (default 20), --burst N (default 20).
import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { connectDocker, startDockerEngine } from '../test/support/docker-engine.ts';
import { ensureTestImage } from '../test/support/test-image.ts';
import { removeTestContainers, startEcsContainer, testRunId, type EcsContainer } from '../test/support/ecs-container.ts';
import { startLocalElbv2 } from '../test/support/local-elbv2/index.ts';
import { AgentProcess, tempDir } from '../test/support/agent-process.ts';
import { sleep, waitFor } from '../test/support/wait.ts';

const HOST_IP = '10.8.0.10';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summary(values: number[]): Record<string, number> {
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: values.length, p50: r(percentile(values, 50)), p90: r(percentile(values, 90)), p99: r(percentile(values, 99)), max: r(Math.max(...values)) };
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Math.round((Number(line.replace(/\D+/g, '')) / 1024) * 10) / 10;
}

/** Docker event times (ms, from timeNano) per container id and action. */
async function recordEvents(docker: Docker): Promise<{ times: Map<string, number>; stop(): void }> {
  const times = new Map<string, number>();
  const stream = (await docker.getEvents({ filters: JSON.stringify({ type: ['container'], event: ['start', 'kill'] }) } as Docker.GetEventsOptions)) as NodeJS.ReadableStream & { destroy(): void };
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const e = JSON.parse(buffer.slice(0, nl)) as { Action: string; Actor: { ID: string }; timeNano: number };
      buffer = buffer.slice(nl + 1);
      const key = `${e.Action}|${e.Actor.ID}`;
      if (!times.has(key)) times.set(key, Number(BigInt(e.timeNano) / 1000n) / 1000);
    }
  });
  return { times, stop: () => stream.destroy() };
}

async function main(): Promise<void> {
  const count = arg('containers', 20);
  const burst = arg('burst', 20);
  const runId = testRunId();
  const engine = await startDockerEngine();
  process.env.DOCKER_HOST = engine.dockerHost;
  const docker = connectDocker(engine.dockerHost);
  const state = tempDir('ecslb-bench-');
  const elb = await startLocalElbv2({ deregistrationDelaySeconds: 0 });
  const containers: EcsContainer[] = [];
  let agent: AgentProcess | undefined;
  const events = await recordEvents(docker);
  try {
    await ensureTestImage(docker);
    const arn = await elb.createTargetGroup({ name: 'bench', port: 80 });
    agent = new AgentProcess({
      env: {
        AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elb.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench',
        ECS_ANYWHERE_LB_HOST_IP: HOST_IP, ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: arn, ECS_ANYWHERE_LB_STATE_DIR: state.path,
        ECS_ANYWHERE_LB_ON_EXIT: 'keep', ECS_ANYWHERE_LB_LOG_LEVEL: 'info',
      },
    });
    const ready = await agent.ready();
    const labels = { 'ecs-anywhere-lb.target-group-arn': arn };
    const registeredAt = (port: number, action: string) =>
      elb.requestLog.find((e) => e.action === action && e.status === 200 && (e.targets ?? []).some((t) => t.id === HOST_IP && t.port === port))?.time;

    // One at a time: each start and each kill is a lone change.
    const startLatency: number[] = [];
    const killLatency: number[] = [];
    for (let i = 0; i < count; i++) {
      const c = await startEcsContainer(docker, { runId, family: 'bench', dockerLabels: labels, waitUntilServing: false });
      containers.push(c);
      const port = c.hostPort();
      const at = await waitFor(() => registeredAt(port, 'RegisterTargets'), { description: `registration of ${port}`, timeoutMs: 10_000, intervalMs: 5 });
      startLatency.push(at - (events.times.get(`start|${c.id}`) ?? NaN));
    }
    await sleep(3000);
    const idleRss = rssMiB(agent.pid!);
    for (const c of containers.splice(0, count)) {
      const port = c.hostPort();
      await c.stop(1);
      const at = await waitFor(() => registeredAt(port, 'DeregisterTargets'), { description: `deregistration of ${port}`, timeoutMs: 10_000, intervalMs: 5 });
      killLatency.push(at - (events.times.get(`kill|${c.id}`) ?? NaN));
      await c.remove();
    }

    // A burst: many containers started at once.
    elb.clearRequestLog();
    const burstStarted = Date.now();
    const batch = await Promise.all(Array.from({ length: burst }, () => startEcsContainer(docker, { runId, family: 'burst', dockerLabels: labels, waitUntilServing: false })));
    containers.push(...batch);
    await waitFor(() => elb.targets(arn).filter((t) => t.id === HOST_IP).length === burst, { description: 'burst registered', timeoutMs: 60_000, intervalMs: 20 });
    const burstMs = Date.now() - burstStarted;
    const calls = (action: string) => elb.requestLog.filter((e) => e.action === action).length;
    const burstCalls = { RegisterTargets: calls('RegisterTargets'), DescribeTargetHealth: calls('DescribeTargetHealth') };
    const burstRss = rssMiB(agent.pid!);

    const result = {
      benchmark: 'agent',
      containers: count,
      startupToFirstReconcileMs: ready.uptimeMs,
      startEventToRegisterMs: summary(startLatency),
      killEventToDeregisterMs: summary(killLatency),
      burst: { containers: burst, allRegisteredMs: burstMs, calls: burstCalls, registerCallsPerContainer: Math.round((burstCalls.RegisterTargets / burst) * 100) / 100 },
      rssMiB: { idleWith: count, value: idleRss, afterBurst: burstRss },
      node: process.versions.node,
    };
    console.log(`start event -> RegisterTargets (ms):   ${JSON.stringify(result.startEventToRegisterMs)}`);
    console.log(`kill event  -> DeregisterTargets (ms): ${JSON.stringify(result.killEventToDeregisterMs)}`);
    console.log(`burst of ${burst}: all registered in ${burstMs} ms with ${burstCalls.RegisterTargets} RegisterTargets and ${burstCalls.DescribeTargetHealth} DescribeTargetHealth calls`);
    console.log(`agent RSS: ${idleRss} MiB idle with ${count} containers, ${burstRss} MiB after the burst; first reconcile ${String(ready.uptimeMs)} ms after start`);
    console.log(JSON.stringify(result));
  } finally {
    events.stop();
    await agent?.stop('SIGKILL');
    await Promise.all(containers.map((c) => c.remove().catch(() => undefined)));
    await removeTestContainers(docker, { runId }).catch(() => undefined);
    await elb.close();
    state.remove();
    await engine.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
