/**
 * Drives health checks: on every tick it asks the model which checks are due, runs them
 * against the target (or against `healthCheckAddress` with the target's port, for hosts
 * without a routed network) and feeds the results back. `stop()` cancels everything.
 */
import type { Elbv2Model } from './elbv2-model.ts';
import { probe as realProbe } from './health-probe.ts';
import type { ProbeSpec } from './health-probe.ts';
import type { ProbeResult } from './health-state.ts';
import { isIpv4 } from './ipv4-cidr.ts';

/** How the monitor runs. */
export interface HealthMonitorOptions {
  /** How often to look for due checks. */
  readonly tickMs: number;
  /** Send every check to this address (with the target's port) instead of the target's own address. */
  readonly healthCheckAddress?: string;
  /** Send every check from this local address (see health-probe.ts). */
  readonly sourceAddress?: string;
  /** The probe; replaceable in unit tests. */
  readonly probe?: (spec: ProbeSpec, signal?: AbortSignal) => Promise<ProbeResult>;
}

/** Periodic health checking of every registered target; one instance per endpoint. */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly model: Elbv2Model,
    private readonly options: HealthMonitorOptions,
  ) {}

  /** Starts ticking (idempotent). The timer does not keep the process alive on its own. */
  start(): void {
    if (this.timer || this.abort.signal.aborted) return;
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  /** Runs the checks that are due now (also called by the timer). */
  tick(): void {
    if (this.abort.signal.aborted) return;
    const probe = this.options.probe ?? realProbe;
    for (const job of this.model.takeDueHealthChecks()) {
      const address = this.options.healthCheckAddress ?? job.targetId;
      const outcome: Promise<ProbeResult> = isIpv4(address)
        ? probe({ ...job.probe, address, ...(this.options.sourceAddress !== undefined ? { localAddress: this.options.sourceAddress } : {}) }, this.abort.signal)
        : Promise.resolve({ ok: false, reason: 'Target.FailedHealthChecks', description: 'Health checks failed' });
      const done = outcome.then((result) => {
        if (!this.abort.signal.aborted) this.model.recordHealthCheck(job, result);
      });
      this.running.add(done);
      void done.finally(() => this.running.delete(done));
    }
  }

  /** Stops the timer, aborts checks in flight and waits for them to settle. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await Promise.allSettled([...this.running]);
  }
}
