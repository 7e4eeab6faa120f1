/**
 * The soak's judge, pure and independent of the agent's code: what every group must hold,
 * computed from what Docker shows and what the harness asked each container for, and the
 * difference to what the load balancer holds.
 */

/** A container as `docker ps -a` lists it (the fields the judge needs). */
export interface ListedContainer {
  readonly name: string;
  /** Docker's State: running, exited, created, restarting, ... */
  readonly state: string;
  /** From Docker's Status text: none, starting, healthy, unhealthy. */
  readonly health: 'none' | 'starting' | 'healthy' | 'unhealthy';
  /** Published IPv4 TCP ports: container port -> host port. */
  readonly ports: ReadonlyMap<number, number>;
}

/** What the harness asked of a container: the groups (ARNs) it should join, on which container port. */
export interface ContainerIntent {
  readonly targetGroupArns: readonly string[];
  readonly containerPort: number;
  /** Readiness-gated: registered as soon as it runs, whatever its Docker health says. */
  readonly gated: boolean;
}

/** A target as the judge compares them: `arn|ip:port`. */
export type TargetKey = string;

export const targetKey = (arn: string, ip: string, port: number): TargetKey => `${arn}|${ip}:${port}`;

/** Reads Docker's Status text ("Up 3 seconds (healthy)", "Up 1 second (health: starting)"). */
export function healthFromStatus(status: string): ListedContainer['health'] {
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('health: starting')) return 'starting';
  return 'none';
}

/**
 * Every target this host should have registered now: each running container whose intent
 * names groups, healthy or without a HEALTHCHECK (or gated), on its published host port.
 */
export function desiredTargets(
  containers: readonly ListedContainer[],
  intents: ReadonlyMap<string, ContainerIntent>,
  address: string,
): Set<TargetKey> {
  const desired = new Set<TargetKey>();
  for (const c of containers) {
    const intent = intents.get(c.name);
    if (!intent || c.state !== 'running') continue;
    if (!intent.gated && c.health !== 'none' && c.health !== 'healthy') continue;
    const port = c.ports.get(intent.containerPort);
    if (port === undefined) continue;
    for (const arn of intent.targetGroupArns) desired.add(targetKey(arn, address, port));
  }
  return desired;
}

/** What differs: targets that should be there and are not, and those that should not be there and are. */
export interface TargetDiff {
  readonly missing: TargetKey[];
  readonly unexpected: TargetKey[];
}

/** Compares two sets of targets (sorted lists out, for stable messages). */
export function diffTargets(desired: ReadonlySet<TargetKey>, actual: ReadonlySet<TargetKey>): TargetDiff {
  return {
    missing: [...desired].filter((k) => !actual.has(k)).sort(),
    unexpected: [...actual].filter((k) => !desired.has(k)).sort(),
  };
}

export const isConverged = (d: TargetDiff): boolean => d.missing.length === 0 && d.unexpected.length === 0;

/** A target as the load balancer shows it. */
export interface GroupTarget {
  readonly id: string;
  readonly port: number;
  readonly state: string;
}

/**
 * The live (not draining) targets of these groups, split into this host's (every address
 * but the second host's) and the second host's.
 */
export function liveTargets(
  groups: ReadonlyArray<readonly [string, readonly GroupTarget[]]>,
  foreignAddress: string,
): { ours: Set<TargetKey>; foreign: Set<TargetKey> } {
  const ours = new Set<TargetKey>();
  const foreign = new Set<TargetKey>();
  for (const [arn, targets] of groups) {
    for (const t of targets) {
      if (t.state === 'draining') continue;
      (t.id === foreignAddress ? foreign : ours).add(targetKey(arn, t.id, t.port));
    }
  }
  return { ours, foreign };
}

/** The second host's targets that are gone although it never deregistered them. */
export function lostForeign(expected: ReadonlySet<TargetKey>, actual: ReadonlySet<TargetKey>): TargetKey[] {
  return [...expected].filter((k) => !actual.has(k)).sort();
}
