/**
 * An ECS service emulator for deployment tests on the real Docker engine: createService()
 * runs N ECS-like task containers and deploy() rolls them to a new task definition revision
 * with minimumHealthyPercent / maximumPercent, container health checks, stopTimeout and SIGTERM
 * grace, as ECS does for an EXTERNAL service. See service.ts and scheduler.ts.
 */
import type Docker from 'dockerode';

export { createService, uniqueFamily } from './service.ts';
export type { CapacitySample, ContainerHealthCheck, DeploymentResult, EcsService, EcsServiceOptions, ServiceEvent, TaskDefinitionSpec, TaskView } from './service.ts';
export { HEALTHY_AFTER_RUNNING_MS, countsHealthy, deploymentLimits, nextStep } from './scheduler.ts';
export type { SchedulerConfig, SchedulerStep, TaskHealth, TaskSnapshot, TaskStatus } from './scheduler.ts';
export { capacityOverTime } from './capacity.ts';
export type { CapacityPoint } from './capacity.ts';

/** The labels the agent reads, for a task definition's dockerLabels. */
export const AGENT_LABELS = {
  targetGroupArn: 'ecs-anywhere-lb.target-group-arn',
  containerPort: 'ecs-anywhere-lb.container-port',
  readinessGate: 'ecs-anywhere-lb.readiness-gate',
} as const;

/**
 * A health check command that passes while `url` answers 2xx: busybox wget in the test image
 * (`wget` exits non-zero on any other status or a connection error). Docker's timeout bounds it.
 */
export function httpHealthCheckCommand(url: string): string[] {
  if (!/^http:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~!$&()*+,;=:@%/?-]*)?$/.test(url)) throw new Error(`not a plain http URL: ${url}`);
  return ['CMD-SHELL', `wget -q -O /dev/null '${url}' || exit 1`];
}

/** The test image's own health page (`/health` on `port`, flipped by the container handle's setHealthy()). */
export function appHealthCheckCommand(port = 8080): string[] {
  return httpHealthCheckCommand(`http://127.0.0.1:${port}/health`);
}

/**
 * The address containers on the engine's default bridge reach the host at (docker0's gateway,
 * 172.17.0.1 on a stock engine; the harness's private engines use their own 10.254.N.1): where
 * a readiness gate must listen for bridge-mode tasks.
 */
export async function defaultBridgeGateway(docker: Docker): Promise<string> {
  const network = (await docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string }> } };
  const gateway = network.IPAM?.Config?.find((config) => config.Gateway && !config.Gateway.includes(':'))?.Gateway;
  if (!gateway) throw new Error('the default bridge network has no IPv4 gateway');
  return gateway;
}
