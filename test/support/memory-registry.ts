/**
 * An in-memory ELBv2 for unit tests: target groups as maps, every call recorded (action,
 * group, targets, error code), and failures on request. It behaves as ELBv2 does where the
 * agent depends on it: RegisterTargets and DeregisterTargets are idempotent, a call carrying
 * one invalid target is refused whole (InvalidTarget), a failed call changes nothing. The
 * deregistration delay is 0: a deregistered target leaves the group at once.
 */
import { OperationError, type ErrorKind } from '../../agent/errors.ts';
import type { ActualTarget, TargetGroupInfo, TargetRef, TargetRegistry } from '../../agent/core/target-registry.ts';

export type RegistryAction = 'DescribeTargetHealth' | 'RegisterTargets' | 'DeregisterTargets' | 'DescribeTargetGroups';

/** One call as the registry saw it; targets as `id:port`, in the order sent. */
export interface RecordedCall {
  readonly action: RegistryAction;
  readonly group: string;
  readonly targets: readonly string[];
  /** The error code when the call was refused. */
  readonly error?: string;
}

/** What a failure looks like: ELBv2's code for each kind the agent tells apart. */
const FAILURE_CODES: Record<ErrorKind, string> = { throttled: 'Throttling', transient: 'ServiceUnavailable', permanent: 'AccessDenied' };

interface Failure {
  readonly kind: ErrorKind;
  readonly action?: RegistryAction;
  readonly group?: string;
  times: number;
}

const show = (t: { id: string; port: number }) => `${t.id}:${t.port}`;

/** Parses `id:port`. */
export function targetOf(text: string, availabilityZone?: string): TargetRef {
  const at = text.lastIndexOf(':');
  return { id: text.slice(0, at), port: Number(text.slice(at + 1)), ...(availabilityZone !== undefined ? { availabilityZone } : {}) };
}

export class MemoryRegistry implements TargetRegistry {
  readonly calls: RecordedCall[] = [];
  /** Targets (`id:port`) RegisterTargets refuses with InvalidTarget. */
  readonly invalid = new Set<string>();
  /** Runs before a change call is applied (e.g. to look at what the agent saved first). */
  beforeChange?: (action: RegistryAction, group: string, targets: readonly TargetRef[]) => void;
  private readonly groups = new Map<string, Map<string, ActualTarget>>();
  private readonly failures: Failure[] = [];

  /** Makes the next `times` matching calls fail with an error of this kind. */
  fail(kind: ErrorKind, match: { action?: RegistryAction; group?: string; times?: number } = {}): void {
    this.failures.push({ kind, ...(match.action ? { action: match.action } : {}), ...(match.group ? { group: match.group } : {}), times: match.times ?? 1 });
  }

  /** Puts targets into a group behind the agent's back (another host, a crash, an operator). */
  put(group: string, ...targets: string[]): void {
    const g = this.group(group);
    for (const t of targets) g.set(t, { ...targetOf(t), state: 'healthy' });
  }

  /** Health check settings DescribeTargetGroups reports (ALB's defaults). */
  healthCheck = { intervalSeconds: 30, healthyThreshold: 5 };

  /** Sets a target's health state, as the load balancer's health checks would. */
  setState(group: string, target: string, state: string): void {
    const t = this.group(group).get(target);
    if (t) this.group(group).set(target, { ...t, state });
  }

  /** Removes targets from a group behind the agent's back. */
  remove(group: string, ...targets: string[]): void {
    for (const t of targets) this.group(group).delete(t);
  }

  /** What a group holds, as sorted `id:port`. */
  holds(group: string): string[] {
    return [...this.group(group).keys()].sort();
  }

  /** The recorded calls of these actions. */
  callsOf(...actions: RegistryAction[]): RecordedCall[] {
    return this.calls.filter((c) => actions.includes(c.action));
  }

  /** The recorded RegisterTargets and DeregisterTargets calls. */
  changeCalls(): RecordedCall[] {
    return this.callsOf('RegisterTargets', 'DeregisterTargets');
  }

  describeTargets(arn: string): Promise<ActualTarget[]> {
    return this.call('DescribeTargetHealth', arn, [], () => [...this.group(arn).values()].map((t) => ({ ...t })));
  }

  register(arn: string, targets: readonly TargetRef[]): Promise<void> {
    return this.call('RegisterTargets', arn, targets, () => {
      const bad = targets.find((t) => this.invalid.has(show(t)));
      if (bad) throw new OperationError('RegisterTargets', arn, 'InvalidTarget', 'permanent', `The following targets are not valid: ${show(bad)}`);
      const g = this.group(arn);
      for (const t of targets) if (!g.has(show(t))) g.set(show(t), { ...t, state: 'initial' });
    });
  }

  deregister(arn: string, targets: readonly TargetRef[]): Promise<void> {
    return this.call('DeregisterTargets', arn, targets, () => {
      for (const t of targets) this.group(arn).delete(show(t));
    });
  }

  describeGroup(arn: string): Promise<TargetGroupInfo> {
    return this.call('DescribeTargetGroups', arn, [], () => ({
      arn, name: arn.split('/')[1] ?? arn, targetType: 'ip', protocol: 'HTTP', port: 80,
      healthCheckIntervalSeconds: this.healthCheck.intervalSeconds, healthyThresholdCount: this.healthCheck.healthyThreshold,
    }));
  }

  private group(arn: string): Map<string, ActualTarget> {
    let g = this.groups.get(arn);
    if (!g) {
      g = new Map();
      this.groups.set(arn, g);
    }
    return g;
  }

  private async call<T>(action: RegistryAction, group: string, targets: readonly TargetRef[], run: () => T): Promise<T> {
    await Promise.resolve();
    const sent = targets.map(show);
    const failure = this.failures.find((f) => f.times > 0 && (f.action === undefined || f.action === action) && (f.group === undefined || f.group === group));
    if (failure) {
      failure.times--;
      const code = FAILURE_CODES[failure.kind];
      this.calls.push({ action, group, targets: sent, error: code });
      throw new OperationError(action, group, code, failure.kind, `injected ${failure.kind} failure`);
    }
    if (action === 'RegisterTargets' || action === 'DeregisterTargets') this.beforeChange?.(action, group, targets);
    try {
      const out = run();
      this.calls.push({ action, group, targets: sent });
      return out;
    } catch (err) {
      this.calls.push({ action, group, targets: sent, error: err instanceof OperationError ? err.code : 'Error' });
      throw err;
    }
  }
}
