/**
 * The target group as the run sees it from outside: DescribeTargetHealth over the ELB API
 * (the real SDK, over HTTP, from the root namespace) every `intervalMs`, so the run can wait
 * for a target's state and say afterwards whether a target stayed healthy all along.
 */
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { sleep } from '../../test/support/wait.ts';

/** One target as DescribeTargetHealth reported it. */
export interface TargetState {
  readonly id: string;
  readonly port: number;
  readonly state: string;
  readonly reason?: string;
}

/** `id:port`. */
export const targetKey = (id: string, port: number) => `${id}:${port}`;

/** Polls one target group; `stop()` ends the polling. */
export class TargetWatch {
  private latest: TargetState[] = [];
  private readonly client: ElasticLoadBalancingV2Client;
  private stopped = false;
  private readonly loop: Promise<void>;
  private readonly tracked = new Map<string, { samples: number; notHealthy: number; states: Set<string> }>();
  private lastError: string | undefined;

  constructor(
    endpoint: string,
    region: string,
    private readonly targetGroupArn: string,
    private readonly intervalMs = 200,
  ) {
    this.client = new ElasticLoadBalancingV2Client({ endpoint, region, credentials: { accessKeyId: 'AKIDE2EVPNWATCH', secretAccessKey: 'e2e-vpn' }, maxAttempts: 1 });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const out = await this.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: this.targetGroupArn }));
        this.latest = (out.TargetHealthDescriptions ?? []).map((d) => ({
          id: d.Target?.Id ?? '',
          port: d.Target?.Port ?? 0,
          state: d.TargetHealth?.State ?? '',
          ...(d.TargetHealth?.Reason ? { reason: d.TargetHealth.Reason } : {}),
        }));
        this.lastError = undefined;
        for (const [key, t] of this.tracked) {
          const state = this.state(key) ?? 'absent';
          t.samples++;
          t.states.add(state);
          if (state !== 'healthy') t.notHealthy++;
        }
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
      }
      await sleep(this.intervalMs);
    }
  }

  /** The state of `id:port` in the last answer, undefined when absent. */
  state(key: string): string | undefined {
    return this.latest.find((t) => targetKey(t.id, t.port) === key)?.state;
  }

  targets(): readonly TargetState[] {
    return this.latest;
  }

  /** From now on, counts the samples in which `key` was not healthy. */
  track(key: string): void {
    this.tracked.set(key, { samples: 0, notHealthy: 0, states: new Set() });
  }

  tracking(key: string): { samples: number; notHealthy: number; states: string[] } | undefined {
    const t = this.tracked.get(key);
    return t ? { samples: t.samples, notHealthy: t.notHealthy, states: [...t.states] } : undefined;
  }

  /** Waits until `key` is in `state` (`absent`: gone from the group); resolves with when (epoch ms). */
  async waitForState(key: string, state: string, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = this.state(key) ?? 'absent';
      if (now === state) return Date.now();
      if (Date.now() > deadline) {
        const seen = this.latest.map((t) => `${targetKey(t.id, t.port)} ${t.state}${t.reason ? ` (${t.reason})` : ''}`).join(', ') || 'no targets';
        throw new Error(`target ${key} not ${state} within ${timeoutMs} ms (now ${now}; group: ${seen}${this.lastError ? `; last error: ${this.lastError}` : ''})`);
      }
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.client.destroy();
  }
}
