// The chaos soak's pure parts (scripts/chaos/): its scenario choices, its judge, its figures
// and its command line, as tables. The soak itself runs against real parts (npm run chaos).
import { describe, expect, it } from 'vitest';
import { stream } from '../../scripts/fleet-sim/random.ts';
import { ChaosUsageError, DEFAULT_DURATION_SECONDS, parseChaosArgs } from '../../scripts/chaos/options.ts';
import { desiredTargets, diffTargets, healthFromStatus, isConverged, liveTargets, lostForeign, targetKey, type ContainerIntent, type ListedContainer } from '../../scripts/chaos/oracle.ts';
import { convergenceFigures, countBy, judgeRss, percentile, RSS_GROWTH_LIMIT } from '../../scripts/chaos/report.ts';
import { ALLOWED_GROUPS, BAD_INPUT_KINDS, FAULT_KINDS, newContainer, nextChurn, planCycle, weighted, type RosterEntry } from '../../scripts/chaos/scenario.ts';

const A = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/chaos-a/0000000000000001';
const B = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/chaos-b/0000000000000002';
const ME = '10.77.0.10';

const listed = (name: string, state: string, health: ListedContainer['health'], hostPort?: number): ListedContainer => ({
  name,
  state,
  health,
  ports: new Map(hostPort === undefined ? [] : [[8080, hostPort]]),
});
const intent = (arns: string[], gated = false): ContainerIntent => ({ targetGroupArns: arns, containerPort: 8080, gated });

describe('the judge: desired targets', () => {
  const intents = new Map<string, ContainerIntent>([
    ['plain', intent([A])],
    ['multi', intent([A, B])],
    ['gated', intent([B], true)],
    ['bad', intent([])],
  ]);
  it.each([
    { what: 'a running container without HEALTHCHECK', c: [listed('plain', 'running', 'none', 32768)], want: [targetKey(A, ME, 32768)] },
    { what: 'a healthy one', c: [listed('plain', 'running', 'healthy', 32768)], want: [targetKey(A, ME, 32768)] },
    { what: 'an unhealthy one: nothing', c: [listed('plain', 'running', 'unhealthy', 32768)], want: [] },
    { what: 'one still starting: nothing', c: [listed('plain', 'running', 'starting', 32768)], want: [] },
    { what: 'an exited one: nothing', c: [listed('plain', 'exited', 'none', 32768)], want: [] },
    { what: 'a restarting one: nothing', c: [listed('plain', 'restarting', 'none', 32768)], want: [] },
    { what: 'a gated one, unhealthy: registered anyway', c: [listed('gated', 'running', 'unhealthy', 32769)], want: [targetKey(B, ME, 32769)] },
    { what: 'two groups: two targets on one port', c: [listed('multi', 'running', 'none', 32770)], want: [targetKey(A, ME, 32770), targetKey(B, ME, 32770)] },
    { what: 'bad input: nothing', c: [listed('bad', 'running', 'none', 32771)], want: [] },
    { what: 'a container the soak did not start: nothing', c: [listed('someone-else', 'running', 'none', 32772)], want: [] },
    { what: 'no published port (yet): nothing', c: [listed('plain', 'running', 'none')], want: [] },
  ])('$what', ({ c, want }) => {
    expect([...desiredTargets(c, intents, ME)].sort()).toEqual(want.sort());
  });
});

describe('the judge: differences and the second host', () => {
  it.each([
    { desired: [], actual: [], missing: [], unexpected: [], converged: true },
    { desired: ['x'], actual: ['x'], missing: [], unexpected: [], converged: true },
    { desired: ['x', 'y'], actual: ['x'], missing: ['y'], unexpected: [], converged: false },
    { desired: ['x'], actual: ['x', 'stale'], missing: [], unexpected: ['stale'], converged: false },
    { desired: ['b', 'a'], actual: ['d', 'c'], missing: ['a', 'b'], unexpected: ['c', 'd'], converged: false },
  ])('desired $desired, actual $actual', ({ desired, actual, missing, unexpected, converged }) => {
    const diff = diffTargets(new Set(desired), new Set(actual));
    expect(diff).toEqual({ missing, unexpected });
    expect(isConverged(diff)).toBe(converged);
  });

  it('splits live targets into ours (every address, old ones too) and the second host\'s, leaving draining ones out', () => {
    const live = liveTargets(
      [
        [A, [{ id: ME, port: 1, state: 'healthy' }, { id: '10.77.0.11', port: 2, state: 'initial' }, { id: ME, port: 3, state: 'draining' }, { id: '10.8.0.99', port: 4, state: 'unhealthy' }]],
        [B, [{ id: '10.8.0.99', port: 5, state: 'draining' }]],
      ],
      '10.8.0.99',
    );
    expect([...live.ours].sort()).toEqual([targetKey(A, ME, 1), targetKey(A, '10.77.0.11', 2)]);
    expect([...live.foreign]).toEqual([targetKey(A, '10.8.0.99', 4)]);
  });

  it.each([
    { expected: [], actual: [], lost: [] },
    { expected: ['f1'], actual: ['f1', 'f2'], lost: [] },
    { expected: ['f1', 'f2'], actual: ['f2'], lost: ['f1'] },
  ])('the second host expects $expected, holds $actual: lost $lost', ({ expected, actual, lost }) => {
    expect(lostForeign(new Set(expected), new Set(actual))).toEqual(lost);
  });

  it.each([
    ['Up 3 seconds (healthy)', 'healthy'],
    ['Up 1 second (health: starting)', 'starting'],
    ['Up 2 minutes (unhealthy)', 'unhealthy'],
    ['Up 5 seconds', 'none'],
    ['Exited (1) 2 seconds ago', 'none'],
  ] as const)('reads Docker status %j as %s', (status, health) => {
    expect(healthFromStatus(status)).toBe(health);
  });
});

describe('the scenario', () => {
  const roster = (entries: Array<Partial<RosterEntry>>): RosterEntry[] =>
    entries.map((e, i) => ({ name: `c${i}`, kind: 'plain', groups: ['chaos-a'], healthcheck: false, restartPolicy: 'no', up: true, ...e }));

  it('replays: one seed gives the same cycles and churn', () => {
    const run = (seed: number) => {
      const out: unknown[] = [];
      for (let i = 0; i < 20; i++) {
        out.push(planCycle(stream(seed, 'cycle', i), FAULT_KINDS));
        out.push(nextChurn(stream(seed, 'churn', i), roster([{}, { up: false }, { healthcheck: true }]), new Map([['chaos-a', [31000, 31001, 31002]]])));
      }
      return out;
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('injects every fault kind over enough cycles, one cycle in six without a fault, and only those available', () => {
    const faults = Array.from({ length: 600 }, (_, i) => planCycle(stream(1, 'cycle', i), FAULT_KINDS).fault);
    for (const kind of FAULT_KINDS) expect(faults).toContain(kind);
    const none = faults.filter((f) => f === 'none').length / faults.length;
    expect(none).toBeGreaterThan(0.1);
    expect(none).toBeLessThan(0.25);
    const only = Array.from({ length: 100 }, (_, i) => planCycle(stream(1, 'cycle', i), ['agent-sigkill']).fault);
    expect(new Set(only)).toEqual(new Set(['agent-sigkill', 'none']));
    expect(planCycle(stream(1, 'cycle', 0), []).fault).toBe('none');
  });

  it.each([
    { what: 'an empty roster: only starts (or the second host)', r: roster([]), allowed: ['start', 'foreign-register'] },
    { what: 'below the minimum: no removal', r: roster([{}, {}]), allowed: ['start', 'stop', 'kill', 'crash', 'restart', 'foreign-register'] },
    { what: 'everything down: nothing to stop, kill, crash or flap', r: roster(Array.from({ length: 8 }, () => ({ up: false }))), allowed: ['start', 'restart', 'remove', 'foreign-register'] },
    { what: 'at the maximum: no start', r: roster(Array.from({ length: 14 }, () => ({}))), allowed: ['stop', 'kill', 'crash', 'restart', 'remove', 'foreign-register'] },
  ])('$what', ({ r, allowed }) => {
    const drawn = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const kind = nextChurn(stream(9, 'churn', i), r, new Map()).kind;
      expect(allowed).toContain(kind);
      drawn.add(kind);
    }
    // Every kind the case allows is drawn, so the list is what the roster permits, not a wider guess.
    expect([...drawn].sort()).toEqual([...allowed].sort());
  });

  it('acts on containers that exist, flaps only those with a HEALTHCHECK, deregisters only the second host\'s own targets', () => {
    const r = roster([{ name: 'up-hc', healthcheck: true }, { name: 'up' }, { name: 'down', up: false }]);
    const foreign = new Map([['chaos-b', [31005, 31006, 31007]]]);
    for (let i = 0; i < 500; i++) {
      const a = nextChurn(stream(3, 'churn', i), r, foreign);
      if (a.kind === 'stop' || a.kind === 'kill' || a.kind === 'crash') expect(['up-hc', 'up']).toContain(a.name);
      if (a.kind === 'health-flap') expect(a.name).toBe('up-hc');
      if (a.kind === 'remove' || a.kind === 'restart') expect(['up-hc', 'up', 'down']).toContain(a.name);
      if (a.kind === 'foreign-deregister') expect([a.group, a.port]).toEqual(['chaos-b', expect.any(Number)]);
      if (a.kind === 'foreign-deregister') expect(foreign.get('chaos-b')).toContain(a.port);
    }
  });

  it('new containers: bad input joins nothing, two groups are distinct, gated and health ones have a HEALTHCHECK', () => {
    const kinds = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const c = newContainer(stream(5, 'new', i));
      kinds.add(c.kind);
      if (BAD_INPUT_KINDS.has(c.kind)) expect(c.groups).toEqual([]);
      else for (const g of c.groups) expect(ALLOWED_GROUPS).toContain(g);
      if (c.kind === 'multi') expect(new Set(c.groups).size).toBe(2);
      expect(c.healthcheck).toBe(c.kind === 'health' || c.kind === 'gated');
    }
    expect(kinds.size).toBe(8);
  });

  it.each([
    { items: [['a', 1], ['b', 0]] as const, draws: [0, 0.5, 0.999], want: ['a', 'a', 'a'] },
    { items: [['a', 1], ['b', 3]] as const, draws: [0, 0.24, 0.26, 0.999], want: ['a', 'a', 'b', 'b'] },
  ])('weighted picks by weight, never a zero weight: $items', ({ items, draws, want }) => {
    expect(draws.map((d) => weighted(() => d, items))).toEqual(want);
  });

  it('weighted refuses a list where nothing can be picked', () => {
    expect(() => weighted(() => 0.5, [['a', 0]])).toThrow(/nothing to pick/);
  });
});

describe('the figures', () => {
  it.each([
    { values: [], p: 50, want: undefined },
    { values: [7], p: 99, want: 7 },
    { values: [1, 2, 3, 4], p: 50, want: 2 },
    { values: [4, 3, 2, 1], p: 99, want: 4 },
    { values: Array.from({ length: 100 }, (_, i) => i + 1), p: 99, want: 99 },
  ])('percentile p$p of $values.length values is $want', ({ values, p, want }) => {
    expect(percentile(values, p)).toBe(want);
  });

  it('convergence figures and counts', () => {
    expect(convergenceFigures([])).toEqual({ samples: 0 });
    expect(convergenceFigures([5, 1, 300])).toEqual({ samples: 3, p50: 5, p99: 300, max: 300 });
    expect(countBy(['b', 'a', 'b'])).toEqual({ a: 1, b: 2 });
  });

  const MiB = 1024 * 1024;
  const samples = (rss: number[], ageMs = 10_000) => rss.map((r, i) => ({ atMs: i * 1000, ageMs, rssBytes: r * MiB }));
  it.each([
    { what: 'flat', rss: [80, 81, 80, 82, 81, 80, 81, 82], judged: true, grew: false },
    { what: 'noise within the slack', rss: [60, 60, 61, 62, 66, 70, 72, 74], judged: true, grew: false },
    { what: 'a leak', rss: [60, 65, 70, 80, 90, 100, 110, 120], judged: true, grew: true },
    { what: 'too few samples', rss: [60, 120], judged: false, grew: false },
  ])('RSS: $what', ({ rss, judged, grew }) => {
    const v = judgeRss(samples(rss));
    expect([v.judged, v.grew]).toEqual([judged, grew]);
  });

  it('RSS: samples of a just-started agent are left out', () => {
    const young = samples(Array.from({ length: 20 }, (_, i) => 40 + i * 10), RSS_GROWTH_LIMIT.warmUpMs - 1);
    expect(judgeRss(young)).toMatchObject({ judged: false, samples: 0 });
  });
});

describe('the command line', () => {
  const seed = () => 1234;
  it.each([
    { argv: [], want: { durationSeconds: DEFAULT_DURATION_SECONDS, seed: 1234, faults: FAULT_KINDS } },
    { argv: ['--duration', '60', '--seed', '7'], want: { durationSeconds: 60, seed: 7, faults: FAULT_KINDS } },
    { argv: ['--json', 'out.json', '--agent-log', 'agent.log'], want: { durationSeconds: DEFAULT_DURATION_SECONDS, seed: 1234, faults: FAULT_KINDS, jsonFile: 'out.json', agentLogFile: 'agent.log' } },
    { argv: ['--faults', 'agent-sigkill, throttle-storm'], want: { durationSeconds: DEFAULT_DURATION_SECONDS, seed: 1234, faults: ['agent-sigkill', 'throttle-storm'] } },
  ])('$argv', ({ argv, want }) => {
    expect(parseChaosArgs(argv, seed)).toEqual(want);
  });

  it.each([
    { argv: ['--duration', '5'], error: /--duration must be an integer between 10 and 86400, not '5'/ },
    { argv: ['--duration', 'long'], error: /--duration must be an integer/ },
    { argv: ['--seed=-1'], error: /--seed must be an integer between 0 and 4294967295, not '-1'/ },
    { argv: ['--seed', '4294967296'], error: /--seed must be an integer between 0 and 4294967295/ },
    { argv: ['--faults', 'meteor'], error: /--faults: unknown fault kind 'meteor'/ },
    { argv: ['--json', ''], error: /--json needs a file name/ },
    { argv: ['--nope'], error: /Unknown option '--nope'/ },
  ])('refuses $argv', ({ argv, error }) => {
    expect(() => parseChaosArgs(argv, seed)).toThrow(ChaosUsageError);
    expect(() => parseChaosArgs(argv, seed)).toThrow(error);
  });

  it('--help', () => {
    expect(parseChaosArgs(['--help'], seed)).toBe('help');
  });
});
