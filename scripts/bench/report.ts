/** The bench's result: its shape, the lines it prints, and the plot drawn from it. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../../test/support/agent-process.ts';
import type { BurstFigures } from './burst.ts';
import type { StopPatternFigures } from './stop-patterns.ts';
import { GOALS } from './goals.ts';
import type { Sizes } from './options.ts';
import type { EventPathProfile } from './profile.ts';
import { ratios, round1, type Summary } from './stats.ts';

/** One stopped-container level: agent and probe, each direction. */
export interface LevelResult {
  readonly stopped: number;
  /** Every container on the (shared) engine at the time, any state. */
  readonly containersOnEngine: number;
  readonly start: { readonly agent: Summary; readonly probe: Summary };
  readonly kill: { readonly agent: Summary; readonly probe: Summary };
}

export interface BenchResult {
  readonly benchmark: 'agent-vs-probe';
  readonly quick: boolean;
  readonly agent: { readonly kind: string; readonly path: string; readonly commit?: string; readonly nodeFlags: readonly string[] };
  readonly node: string;
  readonly sizes: Sizes;
  /** --profile: the agent's event path step by step. */
  readonly profile?: EventPathProfile;
  /** The raw latencies (ms) with no stopped containers, for the plot. */
  readonly samples: { readonly start: { agent: number[]; probe: number[] }; readonly kill: { agent: number[]; probe: number[] } };
  readonly levels: readonly LevelResult[];
  readonly burst: { readonly start: BurstFigures; readonly stop: BurstFigures };
  /** Kill -> DeregisterTargets per stop pattern (stop-patterns.ts); the burst's are `burst.stop`. */
  readonly stops: { readonly lone: StopPatternFigures; readonly chain: StopPatternFigures; readonly task: StopPatternFigures };
  readonly startupToFirstReconcileMs: { readonly none: number; readonly many: number; readonly manyContainers: number };
  readonly idleCpu: { readonly agentSecondsPerHour: number; readonly probeSecondsPerHour: number; readonly windowSeconds: number };
  readonly rssMiB: Record<string, number>;
  readonly churn: { readonly containers: number; readonly seconds: number; readonly registerCalls: number };
  readonly artifacts: Record<string, { bytes: number; mib: number; gzipBytes?: number }>;
  readonly seconds: number;
  /** Wall seconds of each measurement (setup, lone, burst, churn, stopped-N). */
  readonly phaseSeconds: Record<string, number>;
  readonly measuredAt: string;
  /** Filled in by {@link withGoals}. */
  readonly goals?: GoalVerdicts;
}

export interface GoalVerdicts {
  /** Per level and direction: agent/probe ratios and whether within GOALS.latency. */
  readonly latency: Array<{ stopped: number; direction: 'start' | 'kill'; p50: number; p99: number; met: boolean }>;
  readonly burst: { start: boolean; stop: boolean };
  /** Per stop pattern: agent/probe ratios and whether within GOALS.stopPatterns. */
  readonly stops: Array<{ pattern: string; p50: number; p99: number; met: boolean }>;
  /** Undefined unless the x64 executable was measured (the goal is the executable's). */
  readonly idleRss?: boolean;
  readonly allMet: boolean;
}

/** Adds the goal verdicts (figures only: a missed goal is reported, never an error). */
export function withGoals(r: BenchResult): BenchResult {
  const latency = r.levels.flatMap((l) => (['start', 'kill'] as const).map((direction) => ({ stopped: l.stopped, direction, ...ratios(l[direction].agent, l[direction].probe, GOALS.latency) })));
  // Within Docker's time, and within the account's buckets: no call throttled, none the default buckets would refuse.
  const burstMet = (b: BurstFigures) => b.ratio <= GOALS.burstRatio && b.throttled === 0 && b.overDefaultBuckets === 0;
  const burst = { start: burstMet(r.burst.start), stop: burstMet(r.burst.stop) };
  const stops = Object.entries(r.stops).map(([pattern, s]) => ({ pattern, ...ratios(s.agent, s.probe, GOALS.stopPatterns) }));
  const idleRss = r.agent.kind === 'executable' ? (r.rssMiB.idleWithRunning ?? Infinity) <= GOALS.idleRssMiB : undefined;
  const allMet = latency.every((l) => l.met) && stops.every((s) => s.met) && burst.start && burst.stop && idleRss !== false;
  return { ...r, goals: { latency, burst, stops, ...(idleRss !== undefined ? { idleRss } : {}), allMet } };
}

const ms = (s: Summary) => `p50 ${round1(s.p50)} / p90 ${round1(s.p90)} / p99 ${round1(s.p99)} / max ${round1(s.max)} ms (n=${s.n})`;
const yes = (met: boolean) => (met ? 'met' : 'MISSED');

/** Prints the figures, one finding per line, to stdout. */
export function printReport(r: BenchResult): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`agent: ${r.agent.kind} ${r.agent.path}${r.agent.nodeFlags.length ? ` ${r.agent.nodeFlags.join(' ')}` : ''}; node ${r.node}; ${r.seconds} s${r.quick ? ' (quick)' : ''}`);
  for (const l of r.levels) {
    out(`-- ${l.stopped} stopped containers of ours (${l.containersOnEngine} on the engine)`);
    for (const d of ['start', 'kill'] as const) {
      const v = r.goals?.latency.find((g) => g.stopped === l.stopped && g.direction === d);
      out(`  ${d === 'start' ? 'start -> RegisterTargets  ' : 'kill  -> DeregisterTargets'} agent ${ms(l[d].agent)}`);
      out(`  ${' '.repeat(26)} probe ${ms(l[d].probe)}`);
      if (v) out(`  ${' '.repeat(26)} ratio p50 ${v.p50}x, p99 ${v.p99}x (goal ${GOALS.latency.p50}x / ${GOALS.latency.p99}x: ${yes(v.met)})`);
    }
  }
  for (const [name, b] of Object.entries(r.burst)) {
    out(`burst ${name} of ${b.containers} across ${b.groups} groups: agent ${b.agentMs} ms, Docker ${b.dockerMs} ms (${b.ratio}x, goal ${GOALS.burstRatio}x); ${name === 'start' ? 'RegisterTargets' : 'DeregisterTargets'} per group ${b.callsPerGroup.join(', ')}; throttled ${b.throttled}, over the default buckets ${b.overDefaultBuckets} (goal 0)${r.goals ? `: ${yes(name === 'start' ? r.goals.burst.start : r.goals.burst.stop)}` : ''}`);
  }
  for (const [pattern, s] of Object.entries(r.stops)) {
    const v = r.goals?.stops.find((g) => g.pattern === pattern);
    out(`stops, ${pattern}: kill -> DeregisterTargets agent ${ms(s.agent)}`);
    out(`  ${' '.repeat(pattern.length + 7)} probe ${ms(s.probe)}`);
    out(`  ${' '.repeat(pattern.length + 7)} ${v ? `ratio p50 ${v.p50}x, p99 ${v.p99}x (goal ${GOALS.stopPatterns.p50}x / ${GOALS.stopPatterns.p99}x: ${yes(v.met)}); ` : ''}DeregisterTargets ${s.calls}, throttled ${s.throttled}, over the default buckets ${s.overDefaultBuckets}`);
  }
  const s = r.startupToFirstReconcileMs;
  out(`start-up to first reconcile: ${s.none} ms with no containers, ${s.many} ms with ${s.manyContainers}`);
  out(`idle CPU: agent ${r.idleCpu.agentSecondsPerHour} s/h, probe ${r.idleCpu.probeSecondsPerHour} s/h (over ${r.idleCpu.windowSeconds} s)`);
  const m = r.rssMiB;
  out(`RSS MiB: idle with ${m.running} containers ${m.idleWithRunning} (anonymous ${m.idleAnonymous}, file-backed ${m.idleFileBacked})${r.goals?.idleRss !== undefined ? ` (goal ${GOALS.idleRssMiB}: ${yes(r.goals.idleRss)})` : ''}, after the burst ${m.afterBurst}, idle again after ${m.startsBetween} container starts and stops ${m.idleAtEnd} (growth ${m.growth}), peak ${m.peak}`);
  out(`sizes: ${Object.entries(r.artifacts).map(([k, v]) => `${k} ${v.mib} MiB${v.gzipBytes ? ` (${(v.gzipBytes / 1048576).toFixed(1)} gzipped)` : ''}`).join(', ')}`);
  out(`phases (s): ${Object.entries(r.phaseSeconds).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out(`goals: ${r.goals?.allMet ? 'all met' : 'some missed (see above)'}`);
}

/**
 * Draws the latency distributions (agent and probe side by side) with scripts/bench/plot.py.
 * Needs python3 with matplotlib (Debian's python3-matplotlib); without it the bench says so and
 * goes on: the plot is documentation, not a measurement.
 */
export function drawPlot(r: BenchResult, out: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'ecslb-bench-plot-'));
  try {
    const json = join(dir, 'bench.json');
    writeFileSync(json, JSON.stringify(r));
    // The first python3 on PATH, then Debian's (where python3-matplotlib installs).
    for (const py of ['python3', ...(existsSync('/usr/bin/python3') ? ['/usr/bin/python3'] : [])]) {
      const res = spawnSync(py, [join(REPO_ROOT, 'scripts', 'bench', 'plot.py'), json, out], { encoding: 'utf8' });
      if (res.status === 0) {
        process.stdout.write(`plot: ${out}\n`);
        return;
      }
      if (!/No module named .?matplotlib/.test(res.stderr ?? '') && res.error === undefined) throw new Error(`plot.py failed: ${res.stderr}`);
    }
    process.stderr.write(`bench: no plot (python3 with matplotlib not found: apt-get install python3-matplotlib); ${dirname(out)} unchanged\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
