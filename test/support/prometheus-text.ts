// Reads Prometheus text exposition (format 0.0.4) as an agent's scraper would, and checks
// the naming conventions (https://prometheus.io/docs/practices/naming/) the agent follows.

/** One sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family: its HELP, TYPE and samples (a summary's _sum/_count included). */
export interface Family {
  readonly name: string;
  help?: string;
  type?: string;
  readonly samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/y;

/** Parses exposition text; throws on any line that is not HELP, TYPE or a well-formed sample. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (meta[1] === 'HELP') f.help = meta[3];
      else f.type = meta[3];
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`malformed labels: ${JSON.stringify(line)}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`not a number: ${JSON.stringify(line)}`);
    const name = m[1]!;
    const base = families.has(name) ? name : (['_sum', '_count', '_bucket'].map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : '')).find((b) => families.has(b)) ?? name);
    family(base).samples.push({ name, labels, value });
  }
  return families;
}

/** The value of the sample with exactly these labels, or undefined. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = JSON.stringify(Object.entries(labels).sort());
  for (const f of families.values()) {
    for (const s of f.samples) if (s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === key) return s.value;
  }
  return undefined;
}

/** Every convention a family breaks (empty when it follows them all). */
export function namingProblems(f: Family, prefix: string): string[] {
  const problems: string[] = [];
  if (!new RegExp(`^${prefix}_[a-z0-9_]+$`).test(f.name)) problems.push(`${f.name}: not snake_case under ${prefix}_`);
  if (!f.help || f.help.length < 10) problems.push(`${f.name}: no useful HELP`);
  if (!['counter', 'gauge', 'summary', 'histogram'].includes(f.type ?? '')) problems.push(`${f.name}: TYPE ${String(f.type)}`);
  if ((f.type === 'counter') !== f.name.endsWith('_total')) problems.push(`${f.name}: counters, and only counters, end in _total`);
  if (/_(ms|milliseconds|minutes|hours)(_total)?$/.test(f.name)) problems.push(`${f.name}: use base units (seconds)`);
  if (f.name.endsWith('_info') && f.samples.some((s) => s.value !== 1)) problems.push(`${f.name}: an _info metric is 1`);
  if (/time|duration|timestamp/.test(f.name) && !/_seconds(_total)?$/.test(f.name)) problems.push(`${f.name}: time in _seconds`);
  for (const s of f.samples) {
    for (const label of Object.keys(s.labels)) if (!/^[a-z][a-z0-9_]*$/.test(label)) problems.push(`${f.name}: label ${label} not snake_case`);
  }
  return problems;
}
