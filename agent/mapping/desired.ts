/**
 * Which (target group, host port) pairs this host's containers should have registered.
 * Pure: containers and rules in, endpoints and problems out. The address is added later,
 * so the same result serves when no usable address exists.
 */
import {
  ECS_CONTAINER_NAME_LABEL,
  ECS_FAMILY_LABEL,
  ECS_TASK_ARN_LABEL,
  type ContainerSnapshot,
  type PortBinding,
} from '../core/container.ts';
import { inPortRange, type PortRange } from '../core/port-range.ts';
import type { TaskMetadata } from '../core/task-metadata.ts';
import { parseReadinessGate, parseTargetLabels, type MappingProblem, type TargetRequest } from './labels.ts';
import { requestsFromRules, type MappingRule } from './mapping-file.ts';
import { lbNameRequest, namesTargetGroups, ownTagRequests } from './task-tags.ts';

/** A port on this host that should be a target of a group. */
export interface DesiredEndpoint {
  readonly targetGroupArn: string;
  readonly port: number;
  readonly containerId: string;
  readonly containerName: string;
  readonly taskArn?: string;
  /** The container waits for the load balancer through the readiness gate. */
  readonly gated?: true;
}

/** A problem tied to a container, for a log line that names both. */
export interface ContainerProblem extends MappingProblem {
  readonly containerId: string;
  readonly containerName: string;
}

export interface DesiredInput {
  readonly containers: readonly ContainerSnapshot[];
  readonly rules: readonly MappingRule[];
  /** Undefined: any group may be joined. */
  readonly allowedTargetGroups?: ReadonlySet<string>;
  readonly includeNonEcs: boolean;
  /** The address being registered; a port bound to one host IP only counts when it is this one. */
  readonly hostAddress?: string;
  /** What the task metadata endpoint told about the tasks, by task ARN (tags that map whole services). */
  readonly tasks?: ReadonlyMap<string, TaskMetadata>;
  /** Host network mode: a named port the container does not expose is registered only inside this range (undefined: any). */
  readonly hostPortRange?: PortRange;
}

export interface DesiredResult {
  readonly endpoints: DesiredEndpoint[];
  readonly problems: ContainerProblem[];
}

const ANY_HOST_IP = new Set(['', '0.0.0.0', '::']);

/** Whether a container is one the agent looks at at all. */
export function isCandidate(c: ContainerSnapshot, includeNonEcs: boolean): boolean {
  if (c.name.startsWith('~internal~ecs~') || c.name.startsWith('ecs-agent')) return false;
  return includeNonEcs || c.labels[ECS_TASK_ARN_LABEL] !== undefined;
}

/**
 * Whether the container should receive traffic now: running, not stopping, healthy if it has
 * a health check, unless it is gated (its health then waits for the load balancer, so it
 * cannot wait for its health).
 */
export function isServing(c: ContainerSnapshot, gated = false): boolean {
  return c.running && !c.stopping && (gated || c.health === 'none' || c.health === 'healthy');
}

function publishedTcp(c: ContainerSnapshot, byId: ReadonlyMap<string, ContainerSnapshot>): { containerPort: number; hostPorts: PortBinding[] }[] | 'host' {
  let owner = c;
  if (c.networkMode.startsWith('container:')) {
    // Service Connect and awsvpc-like setups publish ports on another (pause) container.
    const ref = c.networkMode.slice('container:'.length);
    owner = byId.get(ref) ?? [...byId.values()].find((o) => o.name === ref) ?? c;
  }
  if (owner.networkMode === 'host') return 'host';
  const byPort = new Map<number, PortBinding[]>();
  for (const p of owner.ports) {
    if (p.protocol !== 'tcp') continue;
    byPort.set(p.containerPort, [...(byPort.get(p.containerPort) ?? []), p]);
  }
  return [...byPort.entries()].sort((a, b) => a[0] - b[0]).map(([containerPort, hostPorts]) => ({ containerPort, hostPorts }));
}

function resolveHostPort(
  c: ContainerSnapshot,
  request: TargetRequest,
  byId: ReadonlyMap<string, ContainerSnapshot>,
  hostAddress: string | undefined,
  hostPortRange: PortRange | undefined,
): { port: number } | { problem: string } {
  const published = publishedTcp(c, byId);
  if (published === 'host') {
    if (request.containerPort !== undefined) {
      // A host-network container shares every port of the host: a label must not put the host's sshd (22) into a group.
      const port = request.containerPort;
      const exposed = c.exposedPorts.some((p) => p.protocol === 'tcp' && p.containerPort === port);
      if (exposed || hostPortRange === undefined || inPortRange(port, hostPortRange)) return { port };
      return { problem: `host network mode: port ${port}/tcp is not exposed by the container and is outside --host-port-range ${hostPortRange.min}-${hostPortRange.max}` };
    }
    const exposed = c.exposedPorts.filter((p) => p.protocol === 'tcp');
    if (exposed.length === 1) return { port: (exposed[0] as { containerPort: number }).containerPort };
    return { problem: `host network mode with ${exposed.length} exposed TCP ports: name one with ${request.source === 'mapping-file' ? 'containerPort' : 'a port'}` };
  }
  let entry = published[0];
  if (request.containerPort !== undefined) {
    entry = published.find((p) => p.containerPort === request.containerPort);
    if (!entry) return { problem: `container port ${request.containerPort}/tcp is not published (published: ${published.map((p) => p.containerPort).join(', ') || 'none'})` };
  } else if (published.length !== 1) {
    const hint = request.source.includes(' tag ') ? 'tag the service with ecs-anywhere-lb.targets=ARN@PORT instead, or label the container' : 'set ecs-anywhere-lb.container-port or use ecs-anywhere-lb.targets=ARN@PORT';
    return { problem: `publishes ${published.length} TCP ports (${published.map((p) => p.containerPort).join(', ') || 'none'}): ${hint}` };
  }
  const usable = (entry as { hostPorts: PortBinding[] }).hostPorts.filter((b) => ANY_HOST_IP.has(b.hostIp) || b.hostIp === hostAddress);
  const binding = usable[0];
  if (!binding) {
    const ips = (entry as { hostPorts: PortBinding[] }).hostPorts.map((b) => b.hostIp).join(', ');
    return { problem: `port ${(entry as { containerPort: number }).containerPort}/tcp is bound to ${ips} only, not to the host address ${hostAddress ?? '(none)'}` };
  }
  return { port: binding.hostPort };
}

/** Whether a task-wide request is one for this container: it publishes the port asked for, or any TCP port when none is named. */
function fits(c: ContainerSnapshot, request: TargetRequest, byId: ReadonlyMap<string, ContainerSnapshot>): boolean {
  const published = publishedTcp(c, byId);
  const ports = published === 'host' ? c.exposedPorts.filter((p) => p.protocol === 'tcp').map((p) => p.containerPort) : published.map((p) => p.containerPort);
  return request.containerPort === undefined ? ports.length > 0 : ports.includes(request.containerPort);
}

const requestKey = (r: TargetRequest) => `${r.targetGroupArn}@${r.containerPort ?? ''}`;

/** A task's tags, read once per pass: their own-key requests, and which of them some container took. */
interface TaskTagUse {
  readonly task: TaskMetadata;
  readonly own: { requests: TargetRequest[]; problems: MappingProblem[] };
  readonly taken: Set<string>;
  /** The first container the tags were looked at for: task-wide problems are reported on it. */
  readonly first: { containerId: string; containerName: string };
}

/**
 * What a container asks for, from the first source that names a group for it: its labels,
 * else its task's tags, else the mapping file (labels > tags > mapping file).
 */
function requestsOf(c: ContainerSnapshot, input: DesiredInput, byId: ReadonlyMap<string, ContainerSnapshot>, uses: Map<string, TaskTagUse>): { requests: TargetRequest[]; problems: MappingProblem[] } {
  if (namesTargetGroups(c.labels)) return parseTargetLabels(c.labels);
  const taskArn = c.labels[ECS_TASK_ARN_LABEL];
  const task = taskArn !== undefined ? input.tasks?.get(taskArn) : undefined;
  if (task && taskArn !== undefined && namesTargetGroups(task.tags, true)) {
    let use = uses.get(taskArn);
    if (!use) {
      use = { task, own: ownTagRequests(task), taken: new Set(), first: { containerId: c.id, containerName: c.name } };
      uses.set(taskArn, use);
    }
    const lbName = lbNameRequest(task, c.labels[ECS_CONTAINER_NAME_LABEL]);
    const own = use.own.requests.filter((r) => fits(c, r, byId));
    own.forEach((r) => use.taken.add(requestKey(r)));
    const requests = [...(lbName.request ? [lbName.request] : []), ...own];
    const problems = lbName.problem ? [lbName.problem] : [];
    if (requests.length > 0 || problems.length > 0) return { requests, problems };
  }
  return { requests: requestsFromRules(input.rules, c.labels[ECS_FAMILY_LABEL], c.labels[ECS_CONTAINER_NAME_LABEL]), problems: [] };
}

/**
 * The tasks whose tags can matter, each with one container's metadata id to ask by: tasks
 * with a candidate container that no label maps (a task whose every container is labelled
 * costs no request).
 */
export function tasksToAsk(containers: readonly ContainerSnapshot[], includeNonEcs: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of containers) {
    const taskArn = c.labels[ECS_TASK_ARN_LABEL];
    if (taskArn === undefined || c.metadataId === undefined || out.has(taskArn)) continue;
    if (!isCandidate(c, includeNonEcs) || !c.running || namesTargetGroups(c.labels)) continue;
    out.set(taskArn, c.metadataId);
  }
  return out;
}

/** Computes the endpoints every serving candidate container asks for. */
export function computeDesired(input: DesiredInput): DesiredResult {
  const byId = new Map(input.containers.map((c) => [c.id, c]));
  const endpoints = new Map<string, DesiredEndpoint>();
  const problems: ContainerProblem[] = [];
  const uses = new Map<string, TaskTagUse>();
  for (const c of input.containers) {
    if (!isCandidate(c, input.includeNonEcs)) continue;
    const gate = parseReadinessGate(c.labels);
    if ('problem' in gate) {
      problems.push({ ...gate.problem, containerId: c.id, containerName: c.name });
      continue;
    }
    if (!isServing(c, gate.gated)) continue;
    const parsed = requestsOf(c, input, byId, uses);
    const requests = parsed.requests;
    const who = { containerId: c.id, containerName: c.name };
    problems.push(...parsed.problems.map((p) => ({ ...p, ...who })));
    for (const request of requests) {
      if (input.allowedTargetGroups && !input.allowedTargetGroups.has(request.targetGroupArn)) {
        problems.push({ ...who, source: request.source, message: `target group ${request.targetGroupArn} is not in --allowed-target-groups` });
        continue;
      }
      const resolved = resolveHostPort(c, request, byId, input.hostAddress, input.hostPortRange);
      if ('problem' in resolved) {
        problems.push({ ...who, source: request.source, message: resolved.problem });
        continue;
      }
      const key = `${request.targetGroupArn}|${resolved.port}`;
      if (!endpoints.has(key)) {
        const taskArn = c.labels[ECS_TASK_ARN_LABEL];
        endpoints.set(key, { targetGroupArn: request.targetGroupArn, port: resolved.port, ...who, ...(taskArn !== undefined ? { taskArn } : {}), ...(gate.gated ? { gated: true as const } : {}) });
      }
    }
  }
  // Task-wide problems once per task, on the first of its containers the tags were read for.
  for (const use of uses.values()) {
    problems.push(...use.own.problems.map((p) => ({ ...p, ...use.first })));
    for (const r of use.own.requests) {
      if (use.taken.has(requestKey(r))) continue;
      const what = r.containerPort !== undefined ? `container port ${r.containerPort}/tcp` : 'a TCP port';
      problems.push({ ...use.first, source: r.source, message: `no serving container of the task publishes ${what} for ${r.targetGroupArn}` });
    }
  }
  return { endpoints: [...endpoints.values()], problems };
}

/**
 * The target groups a container's labels and the mapping file's rules name (task tags need
 * its task, read once it runs): which groups a container about to start will concern.
 */
export function labelledGroups(labels: Readonly<Record<string, string>>, rules: readonly MappingRule[]): Set<string> {
  const requests = [...parseTargetLabels(labels).requests, ...requestsFromRules(rules, labels[ECS_FAMILY_LABEL], labels[ECS_CONTAINER_NAME_LABEL])];
  return new Set(requests.map((r) => r.targetGroupArn));
}
