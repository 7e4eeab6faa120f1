/**
 * Target groups named by an ECS task's tags (a service's tags, propagated to its tasks).
 * Pure: the task's tags and one container's name in, requests and problems out.
 *
 * - `ecs-a.lbName`: the tag of the EventBridge + Lambda solution, kept with its meaning so a
 *   migrating user keeps their tags: whitespace-separated target group ARNs, the i-th for the
 *   i-th container of the task with the containers sorted by name; that container's single
 *   published TCP port.
 * - `ecs-anywhere-lb.target-group-arn`, `ecs-anywhere-lb.container-port`,
 *   `ecs-anywhere-lb.targets`: the labels' meaning (labels.ts reads both), for each of the
 *   task's containers that publishes the port asked for (any TCP port when none is named).
 */
import { isTargetGroupArn } from '../core/arn.ts';
import type { TaskMetadata } from '../core/task-metadata.ts';
import { CONTAINER_PORT_LABEL, TARGETS_LABEL, TARGET_GROUP_ARN_LABEL, parseTargetLabels, type MappingProblem, type TargetRequest } from './labels.ts';

/** The blog solution's service tag. */
export const LB_NAME_TAG = 'ecs-a.lbName';

/** The keys, tags or labels, that name target groups with this agent's own meaning. */
export const MAPPING_KEYS = [TARGET_GROUP_ARN_LABEL, CONTAINER_PORT_LABEL, TARGETS_LABEL] as const;

/** Whether tags or labels carry any key that maps to target groups. */
export function namesTargetGroups(keys: Readonly<Record<string, string>>, withLbName = false): boolean {
  return MAPPING_KEYS.some((k) => keys[k] !== undefined) || (withLbName && keys[LB_NAME_TAG] !== undefined);
}

/** How a tag is named in log lines: `task tag KEY` or `service tag KEY`. */
export const tagSource = (task: TaskMetadata, key: string) => `${task.tagsFrom === 'service' ? 'service' : 'task'} tag ${key}`;

/** Which of the task's containers `ecs-a.lbName` gives which ARN: the containers sorted by name (code-unit order, as the Lambda sorts them). */
export function lbNameRequest(task: TaskMetadata, containerName: string | undefined): { request?: TargetRequest; problem?: MappingProblem } {
  const text = task.tags[LB_NAME_TAG];
  if (text === undefined || containerName === undefined) return {};
  const arns = text.split(/\s+/).filter((s) => s !== '');
  const source = tagSource(task, LB_NAME_TAG);
  const index = [...task.containerNames].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).indexOf(containerName);
  if (index < 0 || index >= arns.length) return {};
  const arn = arns[index] as string;
  if (!isTargetGroupArn(arn)) return { problem: { source, message: `entry ${index + 1} "${arn}" (for container ${containerName}) is not a target group ARN` } };
  return { request: { targetGroupArn: arn, source } };
}

/** The requests the task's tags make with this agent's own keys, as the labels would (one parser: labels.ts). */
export function ownTagRequests(task: TaskMetadata): { requests: TargetRequest[]; problems: MappingProblem[] } {
  const own = Object.fromEntries(MAPPING_KEYS.filter((k) => task.tags[k] !== undefined).map((k) => [k, task.tags[k] as string]));
  if (Object.keys(own).length === 0) return { requests: [], problems: [] };
  const parsed = parseTargetLabels(own);
  return {
    requests: parsed.requests.map((r) => ({ ...r, source: tagSource(task, r.source) })),
    problems: parsed.problems.map((p) => ({ ...p, source: tagSource(task, p.source) })),
  };
}
