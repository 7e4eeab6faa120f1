/** The fleet simulation's results as a readable table and as JSON. */
import { formatApiLimits } from '../../agent/fleet/api-budget.ts';
import type { SimResult } from './simulate.ts';

/** "1.2 s", "3.4 min", "2.1 h", "never". */
export function duration(ms: number): string {
  if (Number.isNaN(ms)) return '-';
  if (!Number.isFinite(ms)) return 'never';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(2)} h`;
}

const pct = (x: number) => `${(100 * x).toFixed(x < 0.001 && x > 0 ? 3 : 1)}%`;
const rate = (x: number) => x.toFixed(x < 10 ? 2 : 1);

/** One row per result. */
export function table(results: readonly SimResult[]): string {
  const header = [
    'scenario',
    'hosts x groups',
    'change calls/s sent (allowed) / budget, peak',
    'describe calls/s / budget',
    'throttled change / describe / all',
    'lag p50 / p99 / max',
    'all exact after',
    'floor',
    'drift-repair interval',
    'describe at rest',
  ];
  const rows = results.map((r) => [
    r.scenario,
    `${r.hosts} x ${r.groups}`,
    `${rate(r.event.change.attemptedPerSecond)} (${rate(r.event.change.perSecond)}) / ${r.event.change.budgetPerSecond}, ${rate(r.event.change.peakAttemptedPerSecond)}`,
    `${rate(r.event.describe.attemptedPerSecond)} / ${r.event.describe.budgetPerSecond}`,
    `${pct(r.event.change.throttledFraction)} / ${pct(r.event.describe.throttledFraction)} / ${pct(r.event.throttledFraction)}`,
    `${duration(r.lag.p50Ms)} / ${duration(r.lag.p99Ms)} / ${duration(r.lag.maxMs)}`,
    duration(r.allExactAfterMs),
    r.floorMs !== undefined ? duration(r.floorMs) : '-',
    r.driftRepairIntervalMs.min === r.driftRepairIntervalMs.max ? duration(r.driftRepairIntervalMs.min) : `${duration(r.driftRepairIntervalMs.min)}-${duration(r.driftRepairIntervalMs.max)}`,
    pct(r.describeAtRest.fractionOfRefill),
  ]);
  return markdown(header, rows);
}

export function markdown(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** What every result assumed, in words. */
export function assumptions(results: readonly SimResult[]): string[] {
  const first = results[0];
  if (!first) return [];
  return [
    `account buckets ${formatApiLimits(first.accountLimits)} (RATE/s:BURST); agents told --elb-api-limits ${formatApiLimits(first.agentLimits)} and --fleet-size ${first.fleetSize}`,
    ...results.map((r) => `${r.scenario}: ${r.description}`),
  ];
}

/** JSON with Infinity written as null (JSON has no Infinity). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1);
}
