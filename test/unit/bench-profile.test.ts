// The bench's --profile: per-step figures from the agent's trace of the event path (pure).
import { describe, expect, it } from 'vitest';
import { profileEventPath } from '../../scripts/bench/profile.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
/** A trace line at `ms` (wall clock) for a step. */
const at = (ms: number, step: string, detail = '') => `${step} ${(1_000_000 + ms).toFixed(3)} ${detail}`;
/** The engine's timeNano of an event at `ms`. */
const nano = (ms: number) => `${BigInt(Math.round((1_000_000 + ms) * 1000)) * 1000n}`;

const LONE_START = [
  at(1, 'event', `start ${A} ${nano(0)}`),
  at(3, 'inspected', A),
  at(3.1, 'pass', 'event:start'),
  at(3.2, 'address'),
  at(3.3, 'listed'),
  at(3.5, 'desired'),
  at(3.6, 'read'),
  at(3.8, 'planned'),
  at(3.9, 'note'),
  at(4, 'call', 'RegisterTargets'),
  at(4.6, 'noted'),
  at(5, 'send', 'RegisterTargets'),
];
const step = (rows: readonly { step: string; p50: number; n: number }[], name: string) => rows.find((r) => r.step === name);

describe('profileEventPath', () => {
  it('gives each step of a lone start from the step before it, the note apart, and the total from the engine', () => {
    const p = profileEventPath(LONE_START.join('\n'));
    expect(step(p.start, 'event')).toMatchObject({ n: 1, p50: 1 });
    expect(step(p.start, 'inspected')).toMatchObject({ p50: 2 });
    expect(step(p.start, 'planned')).toMatchObject({ p50: 0.2 });
    expect(step(p.start, 'send')).toMatchObject({ p50: 1 });
    expect(step(p.start, 'noted')).toMatchObject({ n: 1, p50: 0.7 });
    expect(step(p.start, 'total')).toMatchObject({ n: 1, p50: 5 });
    expect(p.kill.at(-1)).toMatchObject({ step: 'total', n: 0 });
  });

  it('counts the pass that made the call when an earlier one held it (a burst hold, the pace)', () => {
    const trace = [
      at(0, 'event', `kill ${B} ${nano(0)}`),
      at(0.5, 'pass', 'event:kill'),
      at(0.6, 'planned'),
      at(300, 'pass', 'retry'),
      at(300.1, 'address'),
      at(300.2, 'listed'),
      at(300.3, 'desired'),
      at(300.4, 'read'),
      at(300.5, 'planned'),
      at(300.6, 'call', 'DeregisterTargets'),
      at(301, 'send', 'DeregisterTargets'),
    ];
    const p = profileEventPath(trace.join('\n'));
    expect(step(p.kill, 'pass')).toMatchObject({ n: 1, p50: 300 });
    expect(step(p.kill, 'planned')).toMatchObject({ p50: 0.1 });
    expect(step(p.kill, 'total')).toMatchObject({ n: 1, p50: 301 });
  });

  it('leaves out an event another container\'s start or kill overtook (a burst), and a call of the other direction', () => {
    const overtaken = [at(0, 'event', `start ${B} ${nano(0)}`), ...LONE_START];
    expect(step(profileEventPath(overtaken.join('\n')).start, 'total')).toMatchObject({ n: 1 });
    const wrongCall = LONE_START.map((l) => l.replace('send 1000005.000 RegisterTargets', 'send 1000005.000 DescribeTargetHealth'));
    expect(step(profileEventPath(wrongCall.join('\n')).start, 'total')).toMatchObject({ n: 0 });
  });
});
