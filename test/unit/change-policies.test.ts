// The policies after the plan (reconcile/change-policies.ts, held-change.ts), as tables: what
// each sends now, what it holds and why and until when, with the clock and the dice given.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ELB_API_LIMITS, fleetChangeWindowMs } from '../../agent/fleet/api-budget.ts';
import type { DesiredEndpoint } from '../../agent/mapping/desired.ts';
import { applyPolicies, spreadWave, type WaveInput } from '../../agent/reconcile/change-policies.ts';
import { holdRegistrations } from '../../agent/reconcile/held-change.ts';
import type { GroupPlan } from '../../agent/reconcile/plan.ts';

const WEB = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const API = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
const NEW = '10.8.0.10';
const OLD = '10.8.0.6';
const T = 1_000_000;
const ep = (arn: string, port: number, gated = false): DesiredEndpoint => ({ targetGroupArn: arn, port, containerId: `c${port}`, containerName: `app-${port}`, ...(gated ? { gated: true as const } : {}) });
/** A group's plan: `+port` a new target, `~port` a move from the old address, `!port` a gated one, `-port` a stop. */
function group(arn: string, ...changes: string[]): GroupPlan {
  const register: GroupPlan['register'] = [];
  const deregister: GroupPlan['deregister'] = [];
  for (const c of changes) {
    const port = Number(c.slice(1));
    if (c[0] === '-') deregister.push({ target: { id: NEW, port }, why: 'not-desired' });
    else register.push({ target: { id: NEW, port }, endpoint: ep(arn, port, c[0] === '!'), ...(c[0] === '~' ? { moved: true } : {}) });
    if (c[0] === '~') deregister.push({ target: { id: OLD, port }, why: 'address-changed' });
  }
  return { targetGroupArn: arn, register, deregister };
}
/** A plan as text: `+port` registered now, `-ip:port` deregistered now. */
const shown = (plans: readonly GroupPlan[]) => plans.map((p) => [p.targetGroupArn === WEB ? 'web' : 'api', ...p.register.map((r) => `+${r.target.port}`), ...p.deregister.map((d) => `-${d.target.id}:${d.target.port}`)].join(' '));

describe('holdRegistrations', () => {
  it.each<[string, GroupPlan[], number[], string[], string[]]>([
    ['nothing picked: all goes', [group(WEB, '+1', '-2')], [], ['web +1 -10.8.0.10:2'], []],
    ['a new target held, the stop goes', [group(WEB, '+1', '-2')], [1], ['web -10.8.0.10:2'], ['register 1 refused']],
    ['a move held: its old target stays too (make-before-break)', [group(WEB, '~1')], [1], [], ['register 1 refused', 'deregister 1 make-before-break']],
    ['another move of the group goes with its old target', [group(WEB, '~1', '~2')], [1], ['web +2 -10.8.0.6:2'], ['register 1 refused', 'deregister 1 make-before-break']],
  ])('%s', (_name, plans, ports, sent, held) => {
    const out = holdRegistrations(plans, (_arn, r) => ports.includes(r.target.port), 'refused');
    expect(shown(out.plans)).toEqual(sent);
    expect(out.held.map((h) => `${h.change} ${h.target.port} ${h.why}`)).toEqual(held);
  });
});

describe('spreadWave', () => {
  const base: Omit<WaveInput, 'plans'> = { now: T, pressed: false, at: undefined, draw: () => 0.5, fleetSize: 100, limits: DEFAULT_ELB_API_LIMITS };
  const window2 = fleetChangeWindowMs(100, 2, DEFAULT_ELB_API_LIMITS);
  it.each<[string, Partial<WaveInput>, GroupPlan[], string[], number | undefined, number | undefined]>([
    ['nothing spreads: all goes, no wave', {}, [group(WEB, '+1', '-2')], ['web +1 -10.8.0.10:2'], undefined, undefined],
    ['a lone move with the pace unpressed goes at once', {}, [group(WEB, '~1')], ['web +1 -10.8.0.6:1'], undefined, undefined],
    ['a move under pressure waits for this host\'s moment, drawn in the window', { pressed: true }, [group(WEB, '~1')], [], T + Math.floor(0.5 * window2), Math.floor(0.5 * window2)],
    ['a gated registration waits; a stop beside it goes', {}, [group(WEB, '!1', '-2')], ['web -10.8.0.10:2'], T + Math.floor(0.5 * window2), Math.floor(0.5 * window2)],
    ['the moment drawn before holds (no new draw)', { at: T + 300, draw: () => 0.99 }, [group(WEB, '!1')], [], T + 300, 300],
    ['the moment has come: all goes', { at: T - 1 }, [group(WEB, '!1')], ['web +1'], T - 1, undefined],
  ])('%s', (_name, over, plans, sent, at, waitMs) => {
    const out = spreadWave({ ...base, ...over, plans });
    expect(shown(out.plans)).toEqual(sent);
    expect(out.at).toBe(at);
    expect(out.waitMs).toBe(waitMs);
  });

  it('the window is sized for two calls per waving group of every host; the dice are drawn once, when the wave begins', () => {
    let draws = 0;
    const out = spreadWave({ ...base, draw: () => (draws++, 0.25), plans: [group(WEB, '!1'), group(API, '!2')] });
    const windowMs = fleetChangeWindowMs(100, 4, DEFAULT_ELB_API_LIMITS);
    expect(out.scheduled).toEqual({ targets: 2, inMs: Math.floor(0.25 * windowMs), windowMs });
    expect(out.held.map((h) => [h.why, h.until])).toEqual([['fleet-wave', out.at], ['fleet-wave', out.at]]);
    expect(draws).toBe(1);
  });
});

describe('applyPolicies', () => {
  it('refused, then the wave, then start gathering: each says why; the pass waits for the first held by time', () => {
    const out = applyPolicies({
      now: T,
      plans: [group(WEB, '+1', '!2', '-3'), group(API, '+4')],
      isRefused: (_arn, t) => t.port === 1,
      wave: { pressed: false, at: T + 5_000, draw: () => 0.5, fleetSize: 100, limits: DEFAULT_ELB_API_LIMITS },
      pendingGroups: new Set([API]),
      gathering: new Map([[API, T - 400]]),
    });
    expect(shown(out.plans)).toEqual(['web -10.8.0.10:3']);
    expect(out.held.map((h) => `${h.target.port} ${h.why} ${h.until === undefined ? '-' : h.until - T}`)).toEqual(['1 refused -', '2 fleet-wave 5000', '4 gathering-starts 600']);
    expect(out.waitMs).toBe(600);
    expect(out.waveAt).toBe(T + 5_000);
    expect([...out.gathering]).toEqual([[API, T - 400]]);
  });
});
