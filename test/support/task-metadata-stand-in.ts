// A stand-in for the ECS agent's task metadata endpoint v4 (what containers and host
// processes reach at 169.254.170.2): GET /v4/<id>/task and /v4/<id>/taskWithTags, where <id>
// is the last segment of a container's ECS_CONTAINER_METADATA_URI_V4. Response shapes as the
// ECS agent writes them (aws/amazon-ecs-agent): ecs-agent/tmds/handlers/v4/state/response.go
// (TaskResponse adds ServiceName, Containers, FaultInjectionEnabled to the v2 task),
// ecs-agent/tmds/handlers/v2/response.go (Cluster, TaskARN, Family, Revision, statuses,
// TaskTags, ContainerInstanceTags, LaunchType, Errors; a container's DockerId, Name,
// DockerName, Image, Ports, Labels, Limits, Type), ecs-agent/tmds/handlers/response/response.go
// (PortResponse), ecs-agent/tmds/handlers/v4/handlers.go (an unknown id: 404 with a JSON string
// "V4 task metadata handler: ..."), agent/handlers/v2/response.go (a failed tag read: an Errors
// entry with ErrorField "TaskTags", the call still 200).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One container of a stand-in task. */
export interface StandInContainer {
  /** The Docker container id (DockerId). */
  readonly dockerId: string;
  /** The task definition's container name (Name). */
  readonly name: string;
  readonly dockerName?: string;
  readonly ports?: readonly { containerPort: number; hostPort: number; protocol?: 'tcp' | 'udp' }[];
  /** NORMAL (default) or an internal type such as CNI_PAUSE. */
  readonly type?: string;
}

/** A task as the endpoint describes it. */
export interface StandInTask {
  readonly taskArn: string;
  readonly family?: string;
  readonly revision?: string;
  readonly serviceName?: string;
  readonly tags?: Record<string, string>;
  /** The ECS agent could not read the task's tags (e.g. its role lacks ecs:ListTagsForResource): an Errors entry instead of TaskTags. */
  readonly tagsError?: { code: string; message: string };
  readonly containers: readonly StandInContainer[];
}

export interface TaskMetadataStandIn {
  /** Base URL, as --task-metadata-endpoint takes it. */
  readonly url: string;
  /** A fresh endpoint id (a v4 id is a UUID), to put into a container's ECS_CONTAINER_METADATA_URI_V4 before the container exists. */
  newId(): string;
  /** The env entry a task container gets for this id. */
  envFor(id: string): string;
  /** Says which task an id belongs to (replaces what it said before). */
  setTask(id: string, task: StandInTask): void;
  /** Every path asked, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface StandInOptions {
  /** false: an ECS agent without /taskWithTags (answers 404 page not found there, like its router). */
  readonly withTags?: boolean;
  readonly cluster?: string;
}

/** The task response body, as the ECS agent marshals it. */
export function taskResponse(task: StandInTask, cluster: string, withTags: boolean): Record<string, unknown> {
  return {
    Cluster: cluster,
    TaskARN: task.taskArn,
    Family: task.family ?? 'svc',
    Revision: task.revision ?? '1',
    DesiredStatus: 'RUNNING',
    KnownStatus: 'RUNNING',
    Containers: task.containers.map((c) => ({
      DockerId: c.dockerId,
      Name: c.name,
      DockerName: c.dockerName ?? `ecs-${task.family ?? 'svc'}-${task.revision ?? '1'}-${c.name}-${c.dockerId.slice(0, 20)}`,
      Image: 'busybox:latest',
      ImageID: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
      ...(c.ports && c.ports.length > 0 ? { Ports: c.ports.map((p) => ({ ContainerPort: p.containerPort, Protocol: p.protocol ?? 'tcp', HostPort: p.hostPort, HostIp: '0.0.0.0' })) } : {}),
      Labels: { 'com.amazonaws.ecs.task-arn': task.taskArn, 'com.amazonaws.ecs.container-name': c.name },
      DesiredStatus: 'RUNNING',
      KnownStatus: 'RUNNING',
      Limits: { CPU: 2, Memory: 0 },
      Type: c.type ?? 'NORMAL',
      Networks: [{ NetworkMode: 'bridge', IPv4Addresses: ['172.17.0.2'] }],
    })),
    LaunchType: 'EXTERNAL',
    ...(withTags && task.tagsError === undefined ? { TaskTags: task.tags ?? {}, ContainerInstanceTags: {} } : {}),
    ...(withTags && task.tagsError !== undefined ? { ContainerInstanceTags: {}, Errors: [{ ErrorField: 'TaskTags', ErrorCode: task.tagsError.code, ErrorMessage: task.tagsError.message, ResourceARN: task.taskArn }] } : {}),
    ...(task.serviceName !== undefined ? { ServiceName: task.serviceName } : {}),
    FaultInjectionEnabled: false,
  };
}

/** Starts the stand-in on 127.0.0.1 (a free port). */
export async function startTaskMetadataStandIn(options: StandInOptions = {}): Promise<TaskMetadataStandIn> {
  const tasks = new Map<string, StandInTask>();
  const requests: string[] = [];
  const cluster = options.cluster ?? 'arn:aws:ecs:us-east-1:123456789012:cluster/default';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    requests.push(path);
    const m = /^\/v4\/([^/]+)\/(task|taskWithTags)$/.exec(path);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    if (!m || req.method !== 'GET' || (m[2] === 'taskWithTags' && options.withTags === false)) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    const task = tasks.get(m[1] as string);
    if (!task) {
      send(404, `V4 task metadata handler: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: ${m[1]}`);
      return;
    }
    send(200, taskResponse(task, cluster, m[2] === 'taskWithTags'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    newId: () => randomUUID(),
    envFor: (id) => `ECS_CONTAINER_METADATA_URI_V4=${url}/v4/${id}`,
    setTask: (id, task) => void tasks.set(id, task),
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
