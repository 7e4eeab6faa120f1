// The readiness gate's metrics: answers by kind, and the longest wait of a gated container
// that still asks (a container that stopped asking is forgotten after GATE_WAIT_FORGOTTEN_MS).
import { describe, expect, it } from 'vitest';
import { GATE_WAIT_FORGOTTEN_MS, Metrics } from '../../agent/metrics/metrics.ts';

type Answer = [at: number, containerId: string | undefined, ready: boolean];

describe('readiness gate metrics', () => {
  const cases: [string, Answer[], nowMs: number, longestSeconds: number][] = [
    ['no answers', [], 0, 0],
    ['one container waiting 12 s', [[0, 'a', false], [12_000, 'a', false]], 12_000, 12],
    ['the gate opened', [[0, 'a', false], [9_000, 'a', true]], 9_000, 0],
    ['the longest of two', [[0, 'a', false], [5_000, 'b', false], [20_000, 'a', false], [20_000, 'b', false]], 20_000, 20],
    ['one stopped asking long ago', [[0, 'a', false], [1_000, 'b', false], [GATE_WAIT_FORGOTTEN_MS + 30_000, 'b', false]], GATE_WAIT_FORGOTTEN_MS + 30_000, (GATE_WAIT_FORGOTTEN_MS + 29_000) / 1000],
    ['an unknown caller counts as an answer only', [[0, undefined, false], [10_000, undefined, false]], 10_000, 0],
  ];
  it.each(cases)('%s', (_, answers, now, longest) => {
    const m = new Metrics();
    for (const [at, id, ready] of answers) m.gateAnswer(id, ready, at);
    expect(m.gateLongestWaitSeconds(now)).toBe(longest);
    const text = m.render();
    expect(text).toContain(`ecs_anywhere_lb_readiness_answers_total{answer="ready"} ${answers.filter((a) => a[2]).length}`);
    expect(text).toContain(`ecs_anywhere_lb_readiness_answers_total{answer="waiting"} ${answers.filter((a) => !a[2]).length}`);
  });
});
