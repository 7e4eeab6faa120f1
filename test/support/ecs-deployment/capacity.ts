/**
 * The service's capacity replayed from its events: after each event, how many tasks were
 * PENDING or RUNNING (what maximumPercent bounds) and how many counted as healthy (what
 * minimumHealthyPercent protects). Counts change only at events, so checking every point
 * checks every moment of the scheduler's bookkeeping.
 */
import type { ServiceEvent } from './service.ts';

/** Capacity right after one event. */
export interface CapacityPoint {
  readonly at: number;
  readonly type: ServiceEvent['type'];
  readonly revision: number;
  readonly taskArn?: string;
  readonly active: number;
  readonly healthy: number;
}

/** One point per task event, oldest first. */
export function capacityOverTime(events: readonly ServiceEvent[]): CapacityPoint[] {
  const active = new Set<string>();
  const healthy = new Set<string>();
  const points: CapacityPoint[] = [];
  for (const event of events) {
    const arn = event.taskArn;
    if (arn === undefined) continue;
    switch (event.type) {
      case 'task-starting':
        active.add(arn);
        break;
      case 'task-healthy':
        if (active.has(arn)) healthy.add(arn);
        break;
      case 'task-unhealthy':
        healthy.delete(arn);
        break;
      case 'task-start-failed':
      case 'task-stopping':
      case 'task-stopped':
        active.delete(arn);
        healthy.delete(arn);
        break;
      default:
        break;
    }
    points.push({ at: event.at, type: event.type, revision: event.revision, taskArn: arn, active: active.size, healthy: healthy.size });
  }
  return points;
}
