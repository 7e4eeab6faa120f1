// A test world for agent integration tests: the shared Docker engine, a local ELBv2
// endpoint with target groups, a state directory and the environment that points the
// agent at all of them. Each test file builds one and tears it down.
import Docker from 'dockerode';
import { inject } from 'vitest';
import { startLocalElbv2, type LocalElbv2, type LocalElbv2Options, type TargetSnapshot } from './local-elbv2/index.ts';
import { removeTestContainers, startEcsContainer, type EcsContainer, type EcsContainerOptions } from './ecs-container.ts';
import { AgentProcess, tempDir, type AgentProcessOptions } from './agent-process.ts';
import { waitFor } from './wait.ts';

/** The address the agent registers in tests: outside the endpoint's VPC (10.0.0.0/16), so AvailabilityZone=all. */
export const HOST_IP = '10.8.0.10';
/** Another host's address, whose targets the agent must never touch. */
export const FOREIGN_IP = '10.8.0.99';

export interface World {
  docker: Docker;
  elb: LocalElbv2;
  stateDir: string;
  groups: Record<string, string>;
  /** Environment that points an agent at this world. */
  env(extra?: Record<string, string | undefined>): Record<string, string | undefined>;
  startAgent(extra?: Record<string, string | undefined>, options?: Omit<AgentProcessOptions, 'env'>): AgentProcess;
  startContainer(options: EcsContainerOptions): Promise<EcsContainer>;
  /** "ip:port" of every target in a group, sorted; optionally only those in given states. */
  targets(group: string, states?: string[]): string[];
  snapshot(group: string): TargetSnapshot[];
  waitForTargets(group: string, expected: string[], description: string, timeoutMs?: number, states?: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface WorldOptions {
  groups: string[];
  elb?: LocalElbv2Options;
  deregistrationDelaySeconds?: number;
}

/** Builds the world: endpoint, groups, state dir. Agents and containers started through it are cleaned up by close(). */
export async function createWorld(options: WorldOptions): Promise<World> {
  const docker = new Docker();
  const runId = inject('testRunId');
  const elb = await startLocalElbv2({ healthCheckAddress: '127.0.0.1', healthCheckIntervalMs: 300, deregistrationDelaySeconds: options.deregistrationDelaySeconds ?? 1, ...options.elb });
  const groups: Record<string, string> = {};
  for (const name of options.groups) {
    groups[name] = await elb.createTargetGroup({ name, port: 80, healthCheckPath: '/', healthyThresholdCount: 2, unhealthyThresholdCount: 2 });
  }
  const state = tempDir('ecslb-state-');
  const agents: AgentProcess[] = [];
  const containers: EcsContainer[] = [];
  const show = (t: TargetSnapshot) => `${t.id}:${t.port}`;
  const world: World = {
    docker,
    elb,
    stateDir: state.path,
    groups,
    env: (extra = {}) => ({
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elb.url,
      AWS_REGION: elb.region,
      AWS_ACCESS_KEY_ID: 'AKIDTESTHOST1',
      AWS_SECRET_ACCESS_KEY: 'test-secret',
      ECS_ANYWHERE_LB_HOST_IP: HOST_IP,
      ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS: Object.values(groups).join(','),
      ECS_ANYWHERE_LB_STATE_DIR: state.path,
      ECS_ANYWHERE_LB_LOG_FORMAT: 'json',
      ECS_ANYWHERE_LB_LOG_LEVEL: 'debug',
      ECS_ANYWHERE_LB_ON_EXIT: 'keep',
      ECS_ANYWHERE_LB_RECONCILE_INTERVAL: '60s',
      // A lone host: its first reads are not spread over a fleet's read window, and a throttled call waits 250 ms, not a fleet share.
      ECS_ANYWHERE_LB_FLEET_SIZE: '1',
      // Several agents share one engine in the tests: only the gate's own tests serve it.
      ECS_ANYWHERE_LB_READINESS_ADDRESS: 'off',
      // No ECS agent answers on this machine: only the fleet view's tests serve an introspection stand-in.
      ECS_ANYWHERE_LB_ECS_INTROSPECTION_ENDPOINT: 'off',
      ...extra,
    }),
    startAgent: (extra, processOptions) => {
      const agent = new AgentProcess({ ...processOptions, env: world.env(extra) });
      agents.push(agent);
      return agent;
    },
    startContainer: async (opts) => {
      const c = await startEcsContainer(docker, { runId, ...opts });
      containers.push(c);
      return c;
    },
    targets: (group, states) => elb.targets(groups[group] ?? group).filter((t) => !states || states.includes(t.state)).map(show).sort(),
    snapshot: (group) => elb.targets(groups[group] ?? group),
    waitForTargets: async (group, expected, description, timeoutMs = 20_000, states) => {
      const want = [...expected].sort();
      await waitFor(() => JSON.stringify(world.targets(group, states)) === JSON.stringify(want), {
        description: `${description}: ${group} = ${JSON.stringify(want)} (now ${JSON.stringify(world.targets(group, states))})`,
        timeoutMs,
      });
    },
    close: async () => {
      await Promise.all(agents.map((a) => a.stop('SIGKILL')));
      await Promise.all(containers.map((c) => c.remove().catch(() => undefined)));
      await removeTestContainers(docker, { runId }).catch(() => undefined);
      await elb.close();
      state.remove();
    },
  };
  return world;
}

/** Labels that put a container into one target group. */
export function targetLabels(arn: string, containerPort?: number): Record<string, string> {
  return { 'ecs-anywhere-lb.target-group-arn': arn, ...(containerPort !== undefined ? { 'ecs-anywhere-lb.container-port': String(containerPort) } : {}) };
}
