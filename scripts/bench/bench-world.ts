/**
 * What every measurement of the bench shares: the Docker engine, the local ELBv2 endpoint and
 * its target groups, Docker's event times, the index of change calls, the naive probe process,
 * and helpers to start the containers each measurement needs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { REPO_ROOT, tempDir } from '../../test/support/agent-process.ts';
import { connectDocker, startDockerEngine, type DockerEngine } from '../../test/support/docker-engine.ts';
import { removeTestContainers, startEcsContainer, testRunId, type EcsContainer } from '../../test/support/ecs-container.ts';
import { startLocalElbv2, type LocalElbv2 } from '../../test/support/local-elbv2/index.ts';
import { ensureTestImage } from '../../test/support/test-image.ts';
import { waitFor } from '../../test/support/wait.ts';
import { indexChangeCalls, type CallIndex, type ChangeAction } from './call-index.ts';
import { recordDockerEvents, type DockerEventTimes } from './docker-events.ts';
import { parseEnvironmentAssignments, parseUnit } from '../e2e-vpn/service-command.ts';

export const HOST_IP = '10.8.0.10';
/** Containers with this label are the probe's too (the one-at-a-time rounds); burst and churn are the agent's alone. */
export const PROBE_LABEL = 'ecs-anywhere-lb-bench.probe';
const ACCESS_KEY_ID = 'AKIDBENCH';

export interface BenchWorld {
  readonly docker: Docker;
  readonly elb: LocalElbv2;
  readonly events: DockerEventTimes;
  readonly calls: CallIndex;
  /** The agent's one-at-a-time group, the probe's group, and the burst's groups. */
  readonly groups: { readonly agent: string; readonly probe: string; readonly burst: readonly string[] };
  readonly probePid: number;
  /** Containers started so far through {@link startContainer}. */
  readonly starts: number;
  /**
   * Environment that points an agent at this world, with its own state directory. `lone`: the
   * one-at-a-time group, with the account's change limit raised; `burst`: the burst groups, with
   * the account's default limits (what the burst must keep within).
   */
  agentEnv(stateDir: string, role: AgentRole): Record<string, string>;
  /** Starts a task container in `group` (the probe's too when `probe`); not waiting for it to serve. */
  startContainer(group: string, probe?: boolean): Promise<EcsContainer>;
  /** Waits for the first successful `action` naming the container's port in `group` after `since`; throws when it never comes. */
  waitForCall(action: ChangeAction, group: string, c: EcsContainer, since: number, timeoutMs?: number): Promise<number>;
  /** Docker's time of `action` for container `id`, waiting for the event stream to catch up. */
  dockerTime(action: string, id: string): Promise<number>;
  /** Containers on the engine (any state, anyone's: the engine is shared). */
  containerCount(): Promise<number>;
  close(): Promise<void>;
}

/** Starts the probe as its own process and waits until its event stream is open. */
async function startProbe(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'bench', 'probe.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    process.stderr.write(chunk);
  });
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`the probe exited (${child.exitCode}): ${err.trim()}`);
    return out.includes('probe ready');
  }, { description: `the probe's event stream\n${err}`, timeoutMs: 15_000, intervalMs: 20 });
  return child;
}

/** Which agent of the bench: the one-at-a-time rounds' (stop patterns included), or the burst's. */
export type AgentRole = 'lone' | 'burst';

/** The ELB API limits the lone rounds' agent is told the account has (the local endpoint throttles nothing). */
export const BENCH_ELB_API_LIMITS = 'change=100:200,describe=100:400';

/** `trace`: each agent writes its event-path trace (agent/trace.ts) to `trace` in its state directory. */
export async function createBenchWorld(groupCount: number, trace = false): Promise<BenchWorld> {
  const engine: DockerEngine = await startDockerEngine();
  process.env.DOCKER_HOST = engine.dockerHost;
  const docker = connectDocker(engine.dockerHost);
  const runId = testRunId();
  await ensureTestImage(docker);
  const elb = await startLocalElbv2({ deregistrationDelaySeconds: 0 });
  const calls = indexChangeCalls(elb);
  const events = await recordDockerEvents(docker);
  const agent = await elb.createTargetGroup({ name: 'bench-agent', port: 80 });
  const probe = await elb.createTargetGroup({ name: 'bench-probe', port: 80 });
  const burst: string[] = [];
  for (let i = 0; i < groupCount; i++) burst.push(await elb.createTargetGroup({ name: `bench-burst-${i + 1}`, port: 80 }));
  const aws = { AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elb.url, AWS_REGION: elb.region, AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: 'bench' };
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', DOCKER_HOST: engine.dockerHost };
  const probeProcess = await startProbe({ ...base, ...aws, PROBE_TARGET_GROUP_ARN: probe, PROBE_HOST_IP: HOST_IP, PROBE_LABEL: `${PROBE_LABEL}=1` });

  let starts = 0;
  const world: BenchWorld = {
    docker, elb, events, calls,
    groups: { agent, probe, burst },
    probePid: probeProcess.pid!,
    get starts() {
      return starts;
    },
    agentEnv: (stateDir, role) => ({
      // As systemd starts it: the unit's own environment (the state directory is the bench's).
      ...unitEnvironment(),
      ...aws,
      ECS_ANYWHERE_LB_HOST_IP: HOST_IP,
      ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: (role === 'lone' ? [agent] : burst).join(','),
      ECS_ANYWHERE_LB_STATE_DIR: stateDir,
      ECS_ANYWHERE_LB_ON_EXIT: 'keep',
      // The account's change limit raised (as a customer may) for the lone rounds: they send 4-6 calls a second, above the
      // default 4/s, and what they measure is the event path, not the pace this host keeps to (the probe keeps none).
      // The burst's agent keeps the defaults: the burst's goal is to stay within them.
      ...(role === 'lone' ? { ECS_ANYWHERE_LB_ELB_API_LIMITS: BENCH_ELB_API_LIMITS } : {}),
      ECS_ANYWHERE_LB_LOG_LEVEL: 'info',
      // The engine is shared with other test runs: the gate's fixed port could clash.
      ECS_ANYWHERE_LB_READINESS_ADDRESS: 'off',
      // No ECS agent answers here: no address attribute.
      ECS_ANYWHERE_LB_ECS_INTROSPECTION_ENDPOINT: 'off',
      ...(trace ? { ECSLB_TRACE_FILE: join(stateDir, 'trace') } : {}),
    }),
    startContainer: (group, withProbe = false) => {
      starts++;
      return startEcsContainer(docker, { runId, family: 'bench', dockerLabels: { 'ecs-anywhere-lb.target-group-arn': group, ...(withProbe ? { [PROBE_LABEL]: '1' } : {}) }, waitUntilServing: false });
    },
    waitForCall: (action, group, c, since, timeoutMs = 15_000) => {
      const port = c.hostPort();
      return waitFor(() => calls.firstAfter(action, group, HOST_IP, port, since), {
        description: `${action} of ${HOST_IP}:${port} (${c.name}) in ${group.split('/')[1] ?? group}: the target was never ${action === 'RegisterTargets' ? 'registered' : 'deregistered'}`,
        timeoutMs,
        intervalMs: 5,
      });
    },
    dockerTime: (action, id) => waitFor(() => events.at(action, id), { description: `Docker's ${action} event of ${id.slice(0, 12)}`, timeoutMs: 10_000, intervalMs: 5 }),
    containerCount: async () => (await docker.listContainers({ all: true })).length,
    close: async () => {
      events.stop();
      probeProcess.kill('SIGKILL');
      await removeTestContainers(docker, { runId }).catch(() => undefined);
      await elb.close();
      await engine.stop();
    },
  };
  return world;
}

/** The variables the systemd unit's Environment= lines set, less the state directory. */
export function unitEnvironment(): Record<string, string> {
  const unit = parseUnit([readFileSync(join(REPO_ROOT, 'systemd', 'ecs-anywhere-lb-agent.service'), 'utf8')]);
  const env = Object.fromEntries((unit.get('Service')?.get('Environment') ?? []).flatMap(parseEnvironmentAssignments));
  delete env.ECS_ANYWHERE_LB_STATE_DIR;
  return env;
}

/** A fresh state directory for an agent, removed at the end. */
export function stateDir(): { path: string; remove(): void } {
  return tempDir('ecslb-bench-');
}
