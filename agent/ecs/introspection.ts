/**
 * The ECS agent's introspection endpoint on the host itself (ecs-init drops off-host traffic to
 * port 51678): `GET /v1/metadata` answers `{"Cluster", "ContainerInstanceArn", "Version"}`
 * (amazon-ecs-agent, ecs-agent/introspection/v1/). The ContainerInstanceArn is empty until the
 * ECS agent has registered the instance: that is a failure worth retrying, not an answer.
 */
import { OperationError, errorMessage } from '../errors.ts';

/** Which container instance of which cluster this host is. */
export interface ContainerInstanceIdentity {
  readonly cluster: string;
  readonly containerInstanceArn: string;
}

/** How long one request may take: the endpoint is on the host, it answers in milliseconds or not at all. */
export const INTROSPECTION_TIMEOUT_MS = 3_000;

/** Reads this host's cluster and container instance ARN from `<endpoint>/v1/metadata`. */
export async function readContainerInstance(endpoint: string, timeoutMs = INTROSPECTION_TIMEOUT_MS): Promise<ContainerInstanceIdentity> {
  const url = `${endpoint}/v1/metadata`;
  let body: { Cluster?: unknown; ContainerInstanceArn?: unknown };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = (await res.json()) as typeof body;
  } catch (err) {
    throw new OperationError('GET /v1/metadata', url, 'IntrospectionUnavailable', 'transient', errorMessage(err), { cause: err });
  }
  const cluster = typeof body.Cluster === 'string' ? body.Cluster : '';
  const containerInstanceArn = typeof body.ContainerInstanceArn === 'string' ? body.ContainerInstanceArn : '';
  if (cluster === '' || !/^arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]{12}:container-instance\//.test(containerInstanceArn)) {
    throw new OperationError('GET /v1/metadata', url, 'NotRegistered', 'transient', `no container instance yet (Cluster "${cluster}", ContainerInstanceArn "${containerInstanceArn}")`);
  }
  return { cluster, containerInstanceArn };
}
