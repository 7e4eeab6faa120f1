/**
 * Runtime-switchable failures, to test how a client copes with a bad day at AWS: added
 * latency, HTTP 500/503, connections dropped without a reply (before the action, or after it
 * ran: the reply lost on the way back), and throttling storms. Each fault has a probability
 * (1 = every request); `times` limits how many requests are hit.
 *
 * What an AWS SDK v3 client sees (aws/aws-sdk-js-v3 packages/service-error-classification,
 * constants.ts): 500/502/503/504 are transient status codes and ECONNRESET/EPIPE/ETIMEDOUT
 * (a dropped connection, "socket hang up") transient network errors; both are retried with
 * backoff. A lost reply is the case the Amazon Builders' Library ("Making retries safe with
 * idempotent APIs") warns of: the caller cannot tell whether its request took effect.
 */

/** Current fault settings; probabilities are between 0 and 1. */
export interface FaultSettings {
  /** Delay added before answering (or dropping), in ms. */
  readonly latencyMs: number;
  /** Probability that a request gets the added latency. */
  readonly latencyProbability: number;
  /** Probability of HTTP 500 `InternalFailure`. */
  readonly internalError: number;
  /** Probability of HTTP 503 `ServiceUnavailable`. */
  readonly serviceUnavailable: number;
  /** Probability that the connection is destroyed without a reply, before the action runs. */
  readonly dropConnection: number;
  /** Probability that the action runs and then the connection is destroyed without its reply. */
  readonly responseLost: number;
  /** Probability of a `Throttling` error regardless of the token bucket (1 = throttling storm). */
  readonly throttle: number;
  /** Only requests for these actions are affected (undefined = all). */
  readonly actions?: readonly string[];
  /** How many more requests may be hit before the faults switch themselves off (undefined = no limit). */
  readonly times?: number;
}

/** A partial update; `true`/`false` are accepted for probabilities as 1/0. */
export type FaultUpdate = {
  readonly [K in keyof FaultSettings]?: K extends 'latencyMs' | 'actions' | 'times' ? FaultSettings[K] : number | boolean;
};

/** What to do to one request. */
export interface FaultDecision {
  readonly latencyMs: number;
  readonly outcome: 'none' | 'drop' | 'responseLost' | 'internalError' | 'serviceUnavailable' | 'throttle';
}

/** Settings with every fault off. */
export const NO_FAULTS: FaultSettings = {
  latencyMs: 0,
  latencyProbability: 1,
  internalError: 0,
  serviceUnavailable: 0,
  dropConnection: 0,
  responseLost: 0,
  throttle: 0,
};

const PROBABILITIES = ['latencyProbability', 'internalError', 'serviceUnavailable', 'dropConnection', 'responseLost', 'throttle'] as const;

/** Holds the fault settings and rolls the dice for each request. */
export class FaultInjector {
  private settings: FaultSettings = NO_FAULTS;

  constructor(private readonly random: () => number = Math.random) {}

  /** The settings in force. */
  current(): FaultSettings {
    return this.settings;
  }

  /** Merges an update into the current settings; throws on out-of-range values. */
  set(update: FaultUpdate): void {
    const next: Record<string, unknown> = { ...this.settings };
    for (const [key, value] of Object.entries(update)) {
      if (value === undefined && key !== 'actions' && key !== 'times') continue;
      next[key] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    }
    const merged = next as unknown as FaultSettings;
    for (const key of PROBABILITIES) {
      const p = merged[key];
      if (!(p >= 0 && p <= 1)) throw new Error(`fault '${key}' must be a probability between 0 and 1, not ${String(p)}`);
    }
    if (!(merged.latencyMs >= 0)) throw new Error(`fault latencyMs must be >= 0, not ${merged.latencyMs}`);
    if (merged.times !== undefined && !(Number.isInteger(merged.times) && merged.times >= 0)) {
      throw new Error(`fault times must be a non-negative integer, not ${merged.times}`);
    }
    this.settings = merged;
  }

  /** Switches every fault off. */
  clear(): void {
    this.settings = NO_FAULTS;
  }

  /** Decides the fate of one request for `action`; counts it against `times` when hit. */
  decide(action: string): FaultDecision {
    const s = this.settings;
    if (s.times === 0 || (s.actions !== undefined && !s.actions.includes(action))) return { latencyMs: 0, outcome: 'none' };
    const latencyMs = s.latencyMs > 0 && this.roll(s.latencyProbability) ? s.latencyMs : 0;
    let outcome: FaultDecision['outcome'] = 'none';
    if (this.roll(s.dropConnection)) outcome = 'drop';
    else if (this.roll(s.responseLost)) outcome = 'responseLost';
    else if (this.roll(s.internalError)) outcome = 'internalError';
    else if (this.roll(s.serviceUnavailable)) outcome = 'serviceUnavailable';
    else if (this.roll(s.throttle)) outcome = 'throttle';
    if ((latencyMs > 0 || outcome !== 'none') && s.times !== undefined) {
      this.settings = { ...s, times: s.times - 1 };
    }
    return { latencyMs, outcome };
  }

  private roll(probability: number): boolean {
    return probability >= 1 || (probability > 0 && this.random() < probability);
  }
}
