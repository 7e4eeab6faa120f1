/**
 * The soak's figures: convergence percentiles, counts by kind, the RSS trend verdict, and
 * the report as text and JSON. Pure.
 */

/** Nearest-rank percentile (p in 0-100) of a list of numbers; undefined for an empty list. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Counts of each name, sorted by name (for stable output). */
export function countBy(names: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of [...names].sort()) counts[n] = (counts[n] ?? 0) + 1;
  return counts;
}

/** One RSS sample of the agent, in bytes, with the agent's age (ms since it started). */
export interface RssSample {
  readonly atMs: number;
  readonly ageMs: number;
  readonly rssBytes: number;
}

/** How much RSS may grow before the soak calls it a leak. */
export const RSS_GROWTH_LIMIT = { ratio: 1.3, slackBytes: 16 * 1024 * 1024, minSamples: 8, warmUpMs: 5_000 } as const;

/** The verdict on RSS over the run: the median of the last quarter against the median of the first. */
export interface RssVerdict {
  readonly judged: boolean;
  readonly grew: boolean;
  readonly firstMedianBytes?: number;
  readonly lastMedianBytes?: number;
  readonly maxBytes?: number;
  readonly samples: number;
}

/**
 * Whether the agent's RSS grew over the run. Samples taken in an agent's first seconds
 * (start-up) are left out; with fewer than `minSamples` left it is not judged. Grown means
 * the last quarter's median exceeds the first quarter's by both the ratio and the slack.
 */
export function judgeRss(samples: readonly RssSample[], limit = RSS_GROWTH_LIMIT): RssVerdict {
  const steady = samples.filter((s) => s.ageMs >= limit.warmUpMs).map((s) => s.rssBytes);
  const maxBytes = samples.length > 0 ? Math.max(...samples.map((s) => s.rssBytes)) : undefined;
  if (steady.length < limit.minSamples) return { judged: false, grew: false, samples: steady.length, ...(maxBytes !== undefined ? { maxBytes } : {}) };
  const quarter = Math.max(1, Math.floor(steady.length / 4));
  const first = percentile(steady.slice(0, quarter), 50) as number;
  const last = percentile(steady.slice(-quarter), 50) as number;
  const grew = last > first * limit.ratio && last - first > limit.slackBytes;
  return { judged: true, grew, firstMedianBytes: first, lastMedianBytes: last, maxBytes: maxBytes as number, samples: steady.length };
}

/** Percentiles of convergence times, in ms. */
export interface ConvergenceFigures {
  readonly samples: number;
  readonly p50?: number;
  readonly p99?: number;
  readonly max?: number;
}

/** Everything the soak reports. */
export interface ChaosReport {
  readonly seed: number;
  readonly durationSeconds: number;
  readonly elapsedSeconds: number;
  readonly cycles: number;
  readonly events: number;
  readonly eventsByKind: Record<string, number>;
  readonly faultsByKind: Record<string, number>;
  readonly unavailableFaults: Record<string, string>;
  /** From each fault's lift (each quiet period's start) to the groups holding exactly the desired set. */
  readonly convergenceMs: ConvergenceFigures;
  /** The same, for the quiet periods that began with work left to do (the groups not yet right). */
  readonly repairMs: ConvergenceFigures;
  readonly boundMs: number;
  readonly agentStarts: number;
  readonly uninjectedExits: number;
  readonly rss: RssVerdict;
  readonly violations: readonly string[];
}

/** Convergence figures of a list of times. */
export function convergenceFigures(times: readonly number[]): ConvergenceFigures {
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  const max = times.length > 0 ? Math.max(...times) : undefined;
  return { samples: times.length, ...(p50 !== undefined ? { p50 } : {}), ...(p99 !== undefined ? { p99 } : {}), ...(max !== undefined ? { max } : {}) };
}

const figures = (c: ConvergenceFigures) => `p50 ${c.p50 ?? '-'} ms, p99 ${c.p99 ?? '-'} ms, max ${c.max ?? '-'} ms`;
const mib = (bytes: number | undefined) => (bytes === undefined ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);
const list = (counts: Record<string, number>) => Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';

/** The report as the lines a person reads at the end of a run. */
export function formatReport(r: ChaosReport): string {
  const c = r.convergenceMs;
  const lines = [
    `chaos: seed ${r.seed}, ${r.elapsedSeconds.toFixed(0)} s (asked ${r.durationSeconds} s), ${r.cycles} cycles, ${r.events} events`,
    `  events by kind: ${list(r.eventsByKind)}`,
    `  faults by kind: ${list(r.faultsByKind)}`,
    ...Object.entries(r.unavailableFaults).map(([k, why]) => `  not injected: ${k} (${why})`),
    `  convergence after a fault lifts (${c.samples} quiet periods, bound ${r.boundMs} ms): ${figures(c)}`,
    `    of which began with work left (${r.repairMs.samples}): ${figures(r.repairMs)}`,
    `  agent starts ${r.agentStarts}, exits not injected ${r.uninjectedExits}`,
    `  agent RSS: ${r.rss.judged ? `first-quarter median ${mib(r.rss.firstMedianBytes)}, last-quarter median ${mib(r.rss.lastMedianBytes)}, max ${mib(r.rss.maxBytes)} (${r.rss.grew ? 'GREW' : 'no growth'})` : `not judged (${r.rss.samples} steady samples), max ${mib(r.rss.maxBytes)}`}`,
    `  violations: ${r.violations.length}`,
    ...r.violations.map((v) => `    - ${v}`),
  ];
  return lines.join('\n');
}
