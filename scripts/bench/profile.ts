/**
 * `--profile`: where the agent's time between a Docker event and its ELB call goes, from the
 * agent's own trace (agent/trace.ts, on with ECSLB_TRACE_FILE). Pure: the trace's text in,
 * per-step percentiles out. Only lone events count: one whose call was reached before another
 * container's start or kill arrived (bursts and churn interleave, and are measured apart).
 */
import { percentile } from './stats.ts';

/** A segment of the event path: from the step before it to this one (ms). */
export interface StepFigures {
  readonly step: string;
  readonly what: string;
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
}

export interface EventPathProfile {
  readonly start: readonly StepFigures[];
  readonly kill: readonly StepFigures[];
}

/** The steps in the order a lone event passes them, with what each segment (from the previous step) is. */
const STEPS: Record<'start' | 'kill', readonly (readonly [string, string])[]> = {
  start: [
    ['event', 'Docker event to the agent (the engine\'s timeNano to the event stream line)'],
    ['inspected', 'inspect of the container (the one the probe makes too)'],
    ['pass', 'to the pass (the loop\'s trigger)'],
    ['address', 'host address'],
    ['listed', 'container view (warm: no listing)'],
    ['desired', 'task tags, labels and rules to desired targets'],
    ['read', 'drift-repair reads due (none between reads)'],
    ['planned', 'plan, spread, burst coalescing'],
    ['note', 'to the note'],
    ['call', 'to the SDK call'],
    ['send', 'SDK prepares and signs while the note is written; the request leaves once both are done'],
  ],
  kill: [
    ['event', 'Docker event to the agent (the engine\'s timeNano to the event stream line)'],
    ['pass', 'to the pass (the loop\'s trigger; stop mark set)'],
    ['address', 'host address'],
    ['listed', 'container view (warm: no listing)'],
    ['desired', 'task tags, labels and rules to desired targets'],
    ['read', 'drift-repair reads due (none between reads)'],
    ['planned', 'plan, spread, burst coalescing'],
    ['call', 'to the SDK call'],
    ['send', 'SDK prepares and signs (nothing to write first)'],
  ],
};

interface Line {
  readonly step: string;
  readonly at: number;
  readonly detail: string;
}

function parse(text: string): Line[] {
  return text.split('\n').flatMap((l) => {
    const [step, at, ...rest] = l.split(' ');
    const t = Number(at);
    return step && Number.isFinite(t) ? [{ step, at: t, detail: rest.join(' ') }] : [];
  });
}

/** The step times of one lone event, from its trace line on; undefined when it was no lone event. */
function follow(lines: readonly Line[], i: number, direction: 'start' | 'kill'): Map<string, number> | undefined {
  const [, id, timeNano] = lines[i]!.detail.split(' ');
  const marks = new Map<string, number>([['engine', Number(BigInt(timeNano ?? '0') / 1000n) / 1000], ['event', lines[i]!.at]]);
  const steps = STEPS[direction].map(([s]) => s);
  const action = direction === 'start' ? 'RegisterTargets' : 'DeregisterTargets';
  let inPass = direction === 'kill';
  for (let j = i + 1; j < lines.length; j++) {
    const l = lines[j]!;
    if (l.step === 'event' && /^(start|kill) /.test(l.detail)) return undefined;
    if (!inPass) {
      if (l.step === 'inspected' && l.detail === id) {
        marks.set('inspected', l.at);
        inPass = true;
      }
      continue;
    }
    if (l.step === 'pass') {
      // A pass that ended without the call (held, or about another event): the next one counts.
      for (const s of steps.slice(steps.indexOf('pass'))) marks.delete(s);
      marks.set('pass', l.at);
      continue;
    }
    if (!marks.has('pass')) continue;
    if (l.step === 'send') {
      if (l.detail !== action) continue;
      marks.set('send', l.at);
      return marks;
    }
    if (l.step === 'noted' && marks.has('note') && !marks.has('noted')) marks.set('noted', l.at);
    if (l.step === 'call' && l.detail !== action) continue;
    if (steps.includes(l.step) && !marks.has(l.step)) marks.set(l.step, l.at);
  }
  return undefined;
}

/** Per-step p50/p90 of the lone starts and kills in a trace (each segment from the step before it that was reached). */
export function profileEventPath(text: string): EventPathProfile {
  const lines = parse(text);
  const figures = (direction: 'start' | 'kill'): StepFigures[] => {
    const events = lines.flatMap((l, i) => (l.step === 'event' && l.detail.startsWith(`${direction} `) ? [follow(lines, i, direction)] : [])).filter((m): m is Map<string, number> => m !== undefined);
    const order = ['engine', ...STEPS[direction].map(([s]) => s)];
    const rows = STEPS[direction].map(([step, what]) => {
      const d = events.flatMap((m) => {
        const at = m.get(step);
        if (at === undefined) return [];
        const before = order.slice(0, order.indexOf(step)).reverse().find((s) => m.has(s));
        return before === undefined ? [] : [at - m.get(before)!];
      });
      return { step, what, n: d.length, p50: round2(percentile(d, 50)), p90: round2(percentile(d, 90)) };
    });
    const total = events.map((m) => m.get('send')! - m.get('engine')!);
    const noted = events.flatMap((m) => (m.has('noted') && m.has('note') ? [m.get('noted')! - m.get('note')!] : []));
    const row = (step: string, what: string, d: readonly number[]) => ({ step, what, n: d.length, p50: round2(percentile(d, 50)), p90: round2(percentile(d, 90)) });
    return [
      ...rows,
      ...(noted.length > 0 ? [row('noted', 'of which the note (one O_DSYNC append), from `note`, overlapping the SDK', noted)] : []),
      row('total', 'engine event to the request leaving (the endpoint receives it after)', total),
    ];
  };
  return { start: figures('start'), kill: figures('kill') };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The profile as lines for the report. */
export function profileLines(p: EventPathProfile): string[] {
  const out: string[] = [];
  for (const direction of ['start', 'kill'] as const) {
    const rows = p[direction];
    out.push(`profile ${direction} (lone events, n=${rows.at(-1)?.n ?? 0}; ms p50 / p90 per step):`);
    for (const r of rows) out.push(`  ${r.step.padEnd(10)} ${String(r.p50).padStart(6)} / ${String(r.p90).padEnd(6)} ${r.what}`);
  }
  return out;
}

