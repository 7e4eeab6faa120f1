/**
 * The label contract, read from a container's Docker labels (a task definition's
 * `dockerLabels`). Pure: returns what the labels ask for and what is wrong with them.
 */
import { isTargetGroupArn } from '../core/arn.ts';

export const TARGET_GROUP_ARN_LABEL = 'ecs-anywhere-lb.target-group-arn';
export const CONTAINER_PORT_LABEL = 'ecs-anywhere-lb.container-port';
export const TARGETS_LABEL = 'ecs-anywhere-lb.targets';
/**
 * `true`: the container's health check asks the agent whether its targets are healthy in the
 * load balancer (GET /ready), so ECS deployments wait for the load balancer. Such a container
 * is registered as soon as it runs, whatever its Docker health says.
 */
export const READINESS_GATE_LABEL = 'ecs-anywhere-lb.readiness-gate';

/** Reads the readiness-gate label: true, false (also when absent), or a problem that skips the container. */
export function parseReadinessGate(labels: Readonly<Record<string, string>>): { gated: boolean } | { problem: MappingProblem } {
  const text = labels[READINESS_GATE_LABEL];
  if (text === undefined) return { gated: false };
  const t = text.trim().toLowerCase();
  if (t === 'true') return { gated: true };
  if (t === 'false') return { gated: false };
  return { problem: { source: READINESS_GATE_LABEL, message: `"${text}" is neither true nor false` } };
}

/** One target group a container asks to join; without a port, its single published TCP port. */
export interface TargetRequest {
  readonly targetGroupArn: string;
  readonly containerPort?: number;
  /** Where the request came from (label name or mapping file), for log lines. */
  readonly source: string;
}

/** Something wrong with a container's configuration; that pair is skipped, the rest goes on. */
export interface MappingProblem {
  readonly source: string;
  readonly message: string;
}

/** Parses a port number 1-65535 written as decimal text. */
export function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text.trim())) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Reads the three labels into target requests and problems. */
export function parseTargetLabels(labels: Readonly<Record<string, string>>): { requests: TargetRequest[]; problems: MappingProblem[] } {
  const requests: TargetRequest[] = [];
  const problems: MappingProblem[] = [];
  const arnText = labels[TARGET_GROUP_ARN_LABEL];
  const portText = labels[CONTAINER_PORT_LABEL];
  const targetsText = labels[TARGETS_LABEL];

  let containerPort: number | undefined;
  if (portText !== undefined) {
    containerPort = parsePort(portText);
    if (containerPort === undefined) problems.push({ source: CONTAINER_PORT_LABEL, message: `"${portText}" is not a port number (1-65535)` });
  }

  if (arnText !== undefined) {
    const arn = arnText.trim();
    if (!isTargetGroupArn(arn)) {
      problems.push({ source: TARGET_GROUP_ARN_LABEL, message: `"${arnText}" is not a target group ARN` });
    } else if (portText === undefined || containerPort !== undefined) {
      requests.push({ targetGroupArn: arn, ...(containerPort !== undefined ? { containerPort } : {}), source: TARGET_GROUP_ARN_LABEL });
    }
  } else if (portText !== undefined && targetsText === undefined) {
    problems.push({ source: CONTAINER_PORT_LABEL, message: `set without ${TARGET_GROUP_ARN_LABEL}` });
  }

  if (targetsText !== undefined) {
    const entries = targetsText.split(',').map((s) => s.trim());
    if (entries.every((e) => e === '')) problems.push({ source: TARGETS_LABEL, message: 'is empty' });
    for (const entry of entries) {
      if (entry === '') continue;
      const at = entry.lastIndexOf('@');
      const arn = at >= 0 ? entry.slice(0, at) : entry;
      const port = at >= 0 ? parsePort(entry.slice(at + 1)) : undefined;
      if (!isTargetGroupArn(arn)) {
        problems.push({ source: TARGETS_LABEL, message: `"${entry}": "${arn}" is not a target group ARN` });
      } else if (at >= 0 && port === undefined) {
        problems.push({ source: TARGETS_LABEL, message: `"${entry}": "${entry.slice(at + 1)}" is not a port number (1-65535)` });
      } else {
        requests.push({ targetGroupArn: arn, ...(port !== undefined ? { containerPort: port } : {}), source: TARGETS_LABEL });
      }
    }
  }
  return { requests, problems };
}
