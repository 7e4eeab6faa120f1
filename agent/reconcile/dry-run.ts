/**
 * --dry-run as wrappers chosen by the composition root: a registry that reads for real but
 * only pretends to change, and a state port that keeps what a pass would record in memory.
 * The reconciler runs unchanged; its log lines say "would register".
 */
import type { AgentState, StatePort, StateRecovery } from '../core/state.ts';
import type { ActualTarget, LoadBalancerZones, TargetGroupInfo, TargetRef, TargetRegistry } from '../core/target-registry.ts';

export class DryRunRegistry implements TargetRegistry {
  readonly simulated = true;

  constructor(private readonly inner: TargetRegistry) {}

  describeTargets(arn: string): Promise<ActualTarget[]> {
    return this.inner.describeTargets(arn);
  }

  register(_arn: string, _targets: readonly TargetRef[]): Promise<void> {
    return Promise.resolve();
  }

  deregister(_arn: string, _targets: readonly TargetRef[]): Promise<void> {
    return Promise.resolve();
  }

  describeGroup(arn: string): Promise<TargetGroupInfo> {
    return this.inner.describeGroup(arn);
  }

  loadBalancerZones(arns: readonly string[]): Promise<LoadBalancerZones[]> {
    return this.inner.loadBalancerZones?.(arns) ?? Promise.resolve([]);
  }
}

/** Loads the real state once; later saves stay in memory. */
export class MemoryStatePort implements StatePort {
  private state: AgentState | undefined;

  constructor(private readonly inner: StatePort) {}

  get path(): string {
    return this.inner.path;
  }

  get recovery(): StateRecovery | undefined {
    return this.inner.recovery;
  }

  async load(): Promise<AgentState> {
    this.state ??= await this.inner.load();
    return this.state;
  }

  save(state: AgentState): Promise<void> {
    this.state = state;
    return Promise.resolve();
  }
}
