// Metrics as Prometheus text (read back with a small exposition-format parser) and the
// /healthz verdict.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../agent/metrics/metrics.ts';
import { DEFAULT_UNHEALTHY_AFTER_MS, healthOf } from '../../agent/metrics/metrics-server.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  help?: string;
  type?: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
const SUFFIXES = ['_sum', '_count', '_bucket'];

/**
 * Parses Prometheus text format 0.0.4 strictly: every line is HELP, TYPE or a sample; a
 * family's HELP and TYPE come once, before its samples; label values are unescaped.
 */
function parseExposition(text: string): Map<string, Family> {
  expect(text.endsWith('\n'), 'ends with a newline').toBe(true);
  const families = new Map<string, Family>();
  const family = (name: string) => {
    const f = families.get(name) ?? { samples: [] };
    families.set(name, f);
    return f;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.+)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      const f = family(name);
      expect(f.samples, `${kind} of ${name} before its samples`).toHaveLength(0);
      if (kind === 'HELP') {
        expect(f.help, `one HELP for ${name}`).toBeUndefined();
        f.help = rest;
      } else {
        expect(f.type, `one TYPE for ${name}`).toBeUndefined();
        expect(['counter', 'gauge', 'summary', 'histogram', 'untyped']).toContain(rest);
        f.type = rest;
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    expect(m, `a sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    if (labelText !== undefined) {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < labelText.length) {
        const l = LABEL.exec(labelText);
        expect(l, `well-formed labels in ${JSON.stringify(line)}`).not.toBeNull();
        const [, key, escaped] = l as unknown as [string, string, string];
        labels[key] = escaped.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
    }
    const value = Number(valueText);
    expect(Number.isNaN(value), `numeric value in ${JSON.stringify(line)}`).toBe(false);
    const base = families.has(name) ? name : (SUFFIXES.map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : '')).find((b) => families.has(b)) ?? name);
    const f = families.get(base);
    expect(f?.help, `HELP before ${name}`).toBeDefined();
    expect(f?.type, `TYPE before ${name}`).toBeDefined();
    f?.samples.push({ name, labels, value });
  }
  return families;
}

/** The value of one sample, looked up by its own name (e.g. a summary's _count) and labels. */
const valueOf = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  [...families.values()]
    .flatMap((f) => f.samples)
    .find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()))?.value;

describe('Metrics.render', () => {
  it('gives every family a HELP and a TYPE, and zeros on a fresh agent', () => {
    const families = parseExposition(new Metrics().render());
    expect(Object.fromEntries([...families].map(([name, f]) => [name, f.type]))).toEqual({
      ecs_anywhere_lb_registrations_total: 'counter',
      ecs_anywhere_lb_deregistrations_total: 'counter',
      ecs_anywhere_lb_api_calls_total: 'counter',
      ecs_anywhere_lb_api_errors_total: 'counter',
      ecs_anywhere_lb_api_throttled_total: 'counter',
      ecs_anywhere_lb_api_pace_per_second: 'gauge',
      ecs_anywhere_lb_drift_repair_interval_seconds: 'gauge',
      ecs_anywhere_lb_drain_seconds: 'summary',
      ecs_anywhere_lb_drain_seconds_max: 'gauge',
      ecs_anywhere_lb_reconcile_duration_seconds: 'summary',
      ecs_anywhere_lb_reconcile_failures_total: 'counter',
      ecs_anywhere_lb_state_write_failures_total: 'counter',
      ecs_anywhere_lb_state_write_failing: 'gauge',
      ecs_anywhere_lb_registrations_held: 'gauge',
      ecs_anywhere_lb_changes_held: 'gauge',
      ecs_anywhere_lb_readiness_answers_total: 'counter',
      ecs_anywhere_lb_readiness_longest_wait_seconds: 'gauge',
      ecs_anywhere_lb_owned_targets: 'gauge',
      ecs_anywhere_lb_last_successful_reconcile_timestamp_seconds: 'gauge',
      ecs_anywhere_lb_host_address_info: 'gauge',
    });
    for (const [name, f] of families) expect(f.help?.length, `help of ${name}`).toBeGreaterThan(10);
    expect(valueOf(families, 'ecs_anywhere_lb_registrations_total')).toBe(0);
    expect(valueOf(families, 'ecs_anywhere_lb_reconcile_duration_seconds_count')).toBe(0);
    expect(families.get('ecs_anywhere_lb_api_calls_total')?.samples).toEqual([]);
    expect(families.get('ecs_anywhere_lb_host_address_info')?.samples).toEqual([]);
  });

  it('counts failed state writes and shows whether the last one failed', () => {
    const m = new Metrics();
    const read = () => {
      const f = parseExposition(m.render());
      return [valueOf(f, 'ecs_anywhere_lb_state_write_failures_total'), valueOf(f, 'ecs_anywhere_lb_state_write_failing')];
    };
    expect(read()).toEqual([0, 0]);
    m.stateWrite(false);
    m.stateWrite(false);
    expect(read()).toEqual([2, 1]);
    m.stateWrite(true);
    expect(read()).toEqual([2, 0]);
  });

  it('reports the plain counters and gauges it is given', () => {
    const m = new Metrics();
    Object.assign(m, {
      registrations: 7,
      deregistrations: 3,
      reconcileCount: 12,
      reconcileFailures: 2,
      reconcileSecondsSum: 1.25,
      ownedTargets: 4,
      lastSuccessfulReconcile: 1_732_390_000_500,
      address: '10.8.0.10',
    });
    const families = parseExposition(m.render());
    expect([
      valueOf(families, 'ecs_anywhere_lb_registrations_total'),
      valueOf(families, 'ecs_anywhere_lb_deregistrations_total'),
      valueOf(families, 'ecs_anywhere_lb_reconcile_duration_seconds_count'),
      valueOf(families, 'ecs_anywhere_lb_reconcile_duration_seconds_sum'),
      valueOf(families, 'ecs_anywhere_lb_reconcile_failures_total'),
      valueOf(families, 'ecs_anywhere_lb_owned_targets'),
      valueOf(families, 'ecs_anywhere_lb_last_successful_reconcile_timestamp_seconds'),
      valueOf(families, 'ecs_anywhere_lb_host_address_info', { address: '10.8.0.10' }),
    ]).toEqual([7, 3, 12, 1.25, 2, 4, 1_732_390_000.5, 1]);
  });

  it('counts API calls by action and errors by action and code', () => {
    const m = new Metrics();
    m.apiCall('DescribeTargetHealth', undefined, true);
    m.apiCall('RegisterTargets', undefined, true);
    m.apiCall('RegisterTargets', 'Throttling', false);
    m.apiCall('RegisterTargets', 'Throttling', false);
    m.apiCall('RegisterTargets', 'InvalidTarget', true);
    m.apiCall('DeregisterTargets', 'Throttling', false);
    m.apiCall('DescribeTargetHealth', undefined, true);
    const families = parseExposition(m.render());
    const table = (name: string) => families.get(name)?.samples.map((s) => [s.labels, s.value]);
    expect(table('ecs_anywhere_lb_api_calls_total')).toEqual([
      [{ action: 'DescribeTargetHealth' }, 2],
      [{ action: 'RegisterTargets' }, 4],
      [{ action: 'DeregisterTargets' }, 1],
    ]);
    expect(table('ecs_anywhere_lb_api_errors_total')).toEqual([
      [{ action: 'RegisterTargets', code: 'Throttling' }, 2],
      [{ action: 'RegisterTargets', code: 'InvalidTarget' }, 1],
      [{ action: 'DeregisterTargets', code: 'Throttling' }, 1],
    ]);
  });

  it.each([
    ['a double quote', 'tun"0', 'tun\\"0'],
    ['a backslash', 'C:\\vpn', 'C:\\\\vpn'],
    ['a newline', 'a\nb', 'a\\nb'],
    ['all three, backslash first', '\\"\n', '\\\\\\"\\n'],
    ['nothing to escape', '10.8.0.10', '10.8.0.10'],
  ])('escapes %s in label values', (_case, raw, escaped) => {
    const m = new Metrics();
    m.address = raw;
    m.apiCall(raw, raw, true);
    const text = m.render();
    expect(text).toContain(`ecs_anywhere_lb_host_address_info{address="${escaped}"} 1\n`);
    expect(text).toContain(`ecs_anywhere_lb_api_errors_total{action="${escaped}",code="${escaped}"} 1\n`);
    const families = parseExposition(text);
    expect(valueOf(families, 'ecs_anywhere_lb_host_address_info', { address: raw })).toBe(1);
  });

  it.each([
    ['a usable answer', true, 0, 0],
    ['no usable answer', false, 0, 9000],
    ['a usable answer after failures', true, 5000, 0],
    ['another failure keeps the first one\'s time', false, 5000, 5000],
  ])('%s moves elbFailingSince as the adapter judged it', (_case, reachable, failingBefore, failingSince) => {
    // Which answers are usable is the ELB adapter's call: see isReachable in elbv2-registry.test.ts.
    const m = Object.assign(new Metrics(), { elbFailingSince: failingBefore });
    m.apiCall('RegisterTargets', reachable ? 'InvalidTarget' : 'Throttling', reachable, 9000);
    expect(m.elbFailingSince).toBe(failingSince);
  });
});

describe('Metrics: changed through named methods', () => {
  it('passCompleted and passFailed count the passes, their time, the changes, the gauges and the last settled pass', () => {
    const m = new Metrics();
    m.passCompleted({ registered: 3, deregistered: 1, ownedTargets: 2, heldForState: 1, address: '10.8.0.10', settled: false }, 250, 1_000_000);
    m.passCompleted({ registered: 1, deregistered: 2, ownedTargets: 1, address: '10.8.0.10', settled: true }, 50, 2_000_000);
    m.passFailed(100);
    const f = parseExposition(m.render());
    expect({
      registered: valueOf(f, 'ecs_anywhere_lb_registrations_total'),
      deregistered: valueOf(f, 'ecs_anywhere_lb_deregistrations_total'),
      passes: valueOf(f, 'ecs_anywhere_lb_reconcile_duration_seconds_count'),
      seconds: valueOf(f, 'ecs_anywhere_lb_reconcile_duration_seconds_sum'),
      failures: valueOf(f, 'ecs_anywhere_lb_reconcile_failures_total'),
      owned: valueOf(f, 'ecs_anywhere_lb_owned_targets'),
      held: valueOf(f, 'ecs_anywhere_lb_registrations_held'),
      settledAt: valueOf(f, 'ecs_anywhere_lb_last_successful_reconcile_timestamp_seconds'),
    }).toEqual({ registered: 4, deregistered: 3, passes: 3, seconds: 0.4, failures: 1, owned: 1, held: 0, settledAt: 2000 });
    expect(healthOf(m, 2_000_000 + DEFAULT_UNHEALTHY_AFTER_MS, DEFAULT_UNHEALTHY_AFTER_MS, 0).ok).toBe(true);
  });

  it('the changes the last pass held, by reason, replaced by each pass', () => {
    const m = new Metrics();
    const pass = { registered: 0, deregistered: 0, ownedTargets: 0, settled: false };
    m.passCompleted({ ...pass, held: [{ why: 'gathering-starts' }, { why: 'gathering-starts' }, { why: 'refused' }] }, 1);
    const f = parseExposition(m.render());
    expect([valueOf(f, 'ecs_anywhere_lb_changes_held', { reason: 'gathering-starts' }), valueOf(f, 'ecs_anywhere_lb_changes_held', { reason: 'refused' })]).toEqual([2, 1]);
    m.passCompleted(pass, 1);
    expect(parseExposition(m.render()).get('ecs_anywhere_lb_changes_held')?.samples ?? []).toEqual([]);
  });
});

describe('healthOf', () => {
  const LIMIT = 120_000;
  const START = 1_000_000;
  const metrics = (lastDockerOk: number, elbFailingSince: number) => Object.assign(new Metrics(), { lastDockerOk, elbFailingSince });

  it('uses two minutes by default', () => {
    expect(DEFAULT_UNHEALTHY_AFTER_MS).toBe(120_000);
  });

  // [case, lastDockerOk, elbFailingSince, now, problems (fragments, in order)]
  const cases: [string, number, number, number, string[]][] = [
    ['just started, nothing answered yet', 0, 0, START + 1000, []],
    ['Docker never answered, exactly at the limit', 0, 0, START + LIMIT, []],
    ['Docker never answered, past the limit', 0, 0, START + LIMIT + 1, ['Docker unreachable for 120 s']],
    ['Docker answered recently, ELB fine', START + 50_000, 0, START + 100_000, []],
    ['Docker answered exactly the limit ago', START + 10_000, 0, START + 10_000 + LIMIT, []],
    ['Docker silent one ms past the limit', START + 10_000, 0, START + 10_000 + LIMIT + 1, ['Docker unreachable for 120 s']],
    ['ELB silent for long, but nothing failed (nothing to change)', START + 3_600_000, 0, START + 3_601_000, []],
    ['ELB failing, within the limit', START + 300_000, START + 200_000, START + 310_000, []],
    ['ELB failing, exactly at the limit', START + 300_000, START + 190_000, START + 310_000, []],
    ['ELB failing past the limit', START + 300_000, START + 10_000, START + 310_000, ['ELB API unreachable for 300 s']],
    ['both down for long', START + 1000, START + 2000, START + 3_601_000, ['Docker unreachable for 3600 s', 'ELB API unreachable for 3599 s']],
    ['ELB failing since start-up, past the limit', START + 100_000, START + 50, START + 130_000, ['ELB API unreachable for 130 s']],
  ];

  it.each(cases)('%s', (_case, docker, elbFailingSince, now, problems) => {
    const verdict = healthOf(metrics(docker, elbFailingSince), now, LIMIT, START);
    expect(verdict.ok).toBe(problems.length === 0);
    expect(verdict.problems).toEqual(problems);
  });

  it('follows the threshold it is given', () => {
    const m = metrics(START, START);
    expect(healthOf(m, START + 5000, 5000, START).ok).toBe(true);
    expect(healthOf(m, START + 5001, 5000, START).problems).toHaveLength(2);
  });

  it('counts an ELB outage from its first failure, and forgets it at the first usable answer', () => {
    const m = new Metrics();
    m.apiCall('DescribeTargetHealth', undefined, true, START);
    m.apiCall('DescribeTargetHealth', 'ECONNRESET', false, START + 1000);
    m.apiCall('DescribeTargetHealth', 'Throttling', false, START + 5000);
    expect(m.elbFailingSince).toBe(START + 1000);
    expect(healthOf(m, START + 1000 + LIMIT + 1, LIMIT, START).problems).toEqual(['Docker unreachable for 121 s', 'ELB API unreachable for 120 s']);
    m.apiCall('RegisterTargets', 'InvalidTarget', true, START + 9000);
    expect(m.elbFailingSince).toBe(0);
    // The adapter's judgement is all that counts, whatever the code.
    m.apiCall('DescribeTargetHealth', 'SomethingNew', false, START + 10_000);
    expect(m.elbFailingSince).toBe(START + 10_000);
  });
});
