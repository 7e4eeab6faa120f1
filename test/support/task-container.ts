// A container snapshot as the Docker adapter describes an ECS task container: the ECS
// labels, bridge mode, container port 80 published on a given host port. For tests of the
// reconciler and its properties, which need many containers and only vary a few fields.
import { ECS_CONTAINER_NAME_LABEL, ECS_FAMILY_LABEL, ECS_TASK_ARN_LABEL, type ContainerSnapshot } from '../../agent/core/container.ts';

/** An ECS task container `id` (padded to 64 hex digits) publishing port 80 on `hostPort`, with `labels` added to ECS's. */
export function taskContainer(id: string, hostPort: number, labels: Record<string, string>, over: Partial<ContainerSnapshot> = {}): ContainerSnapshot {
  return {
    id: `${id}${'0'.repeat(64 - id.length)}`,
    name: `ecs-web-${id}`,
    labels: {
      [ECS_TASK_ARN_LABEL]: `arn:aws:ecs:us-east-1:123456789012:task/default/${id}`,
      [ECS_CONTAINER_NAME_LABEL]: 'web',
      [ECS_FAMILY_LABEL]: 'web',
      ...labels,
    },
    running: true,
    stopping: false,
    health: 'none',
    networkMode: 'bridge',
    ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort }],
    exposedPorts: [{ containerPort: 80, protocol: 'tcp' }],
    ...over,
  };
}
