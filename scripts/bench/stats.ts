/** Percentiles and ratios of the bench's samples, and calls replayed through a token bucket (pure). */

/** Rounds to one decimal. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** The nearest-rank percentile `p` (0-100) of `values`; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Rounds to two decimals (10 µs for milliseconds). */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * A latency distribution: count, p50, p90, p99, max (ms, two decimals: the ratios are taken from
 * these, and at 4 ms one decimal alone would move a ratio by up to 2.5%; the report prints one).
 */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export function summary(values: readonly number[]): Summary {
  return { n: values.length, p50: round2(percentile(values, 50)), p90: round2(percentile(values, 90)), p99: round2(percentile(values, 99)), max: round2(values.length ? Math.max(...values) : NaN) };
}

/** `a / b` to two decimals (the agent's figure over the probe's). */
export function ratio(a: number, b: number): number {
  return Math.round((a / Math.max(b, 0.1)) * 100) / 100;
}

/** The agent's p50 and p99 as multiples of the probe's, and whether they meet `goal`. */
export function ratios(agent: Summary, probe: Summary, goal: { p50: number; p99: number }): { p50: number; p99: number; met: boolean } {
  const p50 = ratio(agent.p50, probe.p50);
  const p99 = ratio(agent.p99, probe.p99);
  return { p50, p99, met: p50 <= goal.p50 && p99 <= goal.p99 };
}

/** How many calls at these arrival times (ms, ascending) a token bucket starting full would refuse. */
export function refusedByBucket(times: readonly number[], perSecond: number, burst: number): number {
  let tokens = burst;
  let last = times[0] ?? 0;
  let refused = 0;
  for (const t of times) {
    tokens = Math.min(burst, tokens + ((t - last) * perSecond) / 1000);
    last = t;
    if (tokens >= 1) tokens -= 1;
    else refused++;
  }
  return refused;
}
