// The local load balancer's routing choice (routing.ts) and its delayed membership view
// (routing-table.ts), as data tables with an explicit clock.
import { describe, expect, it } from 'vitest';
import type { MembershipChange } from '../support/local-elbv2/elbv2-model.ts';
import type { TargetState } from '../support/local-elbv2/health-state.ts';
import { RoutingTable } from '../support/local-elbv2/routing-table.ts';
import { eligibleTargets, pickTarget, routingAlgorithmOf } from '../support/local-elbv2/routing.ts';
import type { RoutableTarget } from '../support/local-elbv2/routing.ts';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';

function target(port: number, state: TargetState, phase: 'serving' | 'draining' = state === 'draining' ? 'draining' : 'serving'): RoutableTarget {
  return { key: `10.8.0.10:${port}`, id: '10.8.0.10', port, phase, state };
}

const ports = (targets: readonly RoutableTarget[]) => targets.map((t) => t.port);

describe('eligibleTargets', () => {
  it.each<[string, RoutableTarget[], number[], boolean]>([
    ['nothing registered: nothing, not failing open', [], [], false],
    ['only healthy targets get new requests', [target(1, 'healthy'), target(2, 'initial'), target(3, 'unhealthy'), target(4, 'draining')], [1], false],
    ['every healthy target, in key order', [target(3, 'healthy'), target(1, 'healthy'), target(2, 'unhealthy')], [1, 3], false],
    ['no healthy target: fail open to all registered ones', [target(1, 'unhealthy'), target(2, 'unhealthy')], [1, 2], true],
    ['fail open leaves initial targets out', [target(1, 'initial'), target(2, 'unhealthy')], [2], true],
    ['a lone initial target gets nothing (503)', [target(1, 'initial')], [], false],
    ['only initial and draining targets: nothing (503), as in a rolling update without a gate', [target(1, 'initial'), target(2, 'draining')], [], false],
    ['fail open never includes draining targets', [target(1, 'unhealthy'), target(2, 'draining')], [1], true],
    ['only draining targets: nothing (503)', [target(1, 'draining'), target(2, 'draining')], [], false],
    ['unavailable and unused count as not healthy', [target(1, 'unavailable'), target(2, 'unused')], [1, 2], true],
    ['a draining-phase target is out even if its state says healthy', [target(1, 'healthy', 'draining'), target(2, 'unhealthy')], [2], true],
  ])('%s', (_name, input, expected, failOpen) => {
    const result = eligibleTargets(input);
    expect(ports(result.targets)).toEqual(expected);
    expect(result.failOpen).toBe(failOpen);
  });
});

describe('eligibleTargets, failing open to initial targets too (initial-too)', () => {
  it.each<[string, RoutableTarget[], number[], boolean]>([
    ['fail open includes initial targets', [target(1, 'initial'), target(2, 'unhealthy')], [1, 2], true],
    ['a lone initial target gets traffic', [target(1, 'initial')], [1], true],
    ['healthy ones still win', [target(1, 'initial'), target(2, 'healthy')], [2], false],
    ['never draining', [target(1, 'initial'), target(2, 'draining')], [1], true],
  ])('%s', (_name, input, expected, failOpen) => {
    const result = eligibleTargets(input, 'initial-too');
    expect(ports(result.targets)).toEqual(expected);
    expect(result.failOpen).toBe(failOpen);
  });
});

describe('pickTarget', () => {
  const three = [target(1, 'healthy'), target(2, 'healthy'), target(3, 'healthy')];
  const none = () => 0;

  it('round_robin cycles through the eligible targets in key order', () => {
    const picks = [0, 1, 2, 3, 4, 5].map((turn) => pickTarget('round_robin', three, { turn, outstanding: none, random: Math.random })?.port);
    expect(picks).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('least_outstanding_requests takes the least busy target, ties in round-robin order', () => {
    const busy: Record<string, number> = { '10.8.0.10:1': 2, '10.8.0.10:2': 0, '10.8.0.10:3': 0 };
    const outstanding = (key: string) => busy[key] ?? 0;
    expect(pickTarget('least_outstanding_requests', three, { turn: 0, outstanding, random: Math.random })?.port).toBe(2);
    expect(pickTarget('least_outstanding_requests', three, { turn: 2, outstanding, random: Math.random })?.port).toBe(3);
    expect(pickTarget('least_outstanding_requests', three, { turn: 1, outstanding, random: Math.random })?.port).toBe(2);
  });

  it('weighted_random picks uniformly by the random number', () => {
    expect(pickTarget('weighted_random', three, { turn: 0, outstanding: none, random: () => 0 })?.port).toBe(1);
    expect(pickTarget('weighted_random', three, { turn: 0, outstanding: none, random: () => 0.5 })?.port).toBe(2);
    expect(pickTarget('weighted_random', three, { turn: 0, outstanding: none, random: () => 0.99 })?.port).toBe(3);
  });

  it('picks nothing from nothing', () => {
    expect(pickTarget('round_robin', [], { turn: 0, outstanding: none, random: Math.random })).toBeUndefined();
  });

  it.each([
    ['round_robin', 'round_robin'],
    ['least_outstanding_requests', 'least_outstanding_requests'],
    ['weighted_random', 'weighted_random'],
    [undefined, 'round_robin'],
    ['bogus', 'round_robin'],
  ])('attribute %s routes as %s', (value, expected) => {
    expect(routingAlgorithmOf(value)).toBe(expected);
  });
});

describe('RoutingTable', () => {
  const key = (port: number) => `10.8.0.10:${port}`;
  const registered = (port: number, generation: number, at: number): MembershipChange => ({
    kind: 'registered',
    groupArn: ARN,
    key: key(port),
    id: '10.8.0.10',
    port,
    generation,
    at,
  });
  const deregistered = (port: number, generation: number, at: number, drainingUntil: number, stateBefore: TargetState = 'healthy'): MembershipChange => ({
    kind: 'deregistered',
    groupArn: ARN,
    key: key(port),
    id: '10.8.0.10',
    port,
    generation,
    at,
    drainingUntil,
    stateBefore,
  });
  /** A model stand-in: current life and state per key. */
  const model = (lives: Record<string, [number, TargetState]>) => (k: string) => {
    const life = lives[k];
    return life ? { generation: life[0], state: life[1] } : undefined;
  };
  const describeView = (table: RoutingTable, live: ReturnType<typeof model>) =>
    table.view(live).map((t) => `${t.port}:${t.phase}:${t.state}`).sort();

  it('a registration reaches the view only after the propagation delay; health is read live', () => {
    const table = new RoutingTable(1000);
    table.receive(registered(1, 1, 0));
    const live = model({ [key(1)]: [1, 'healthy'] });
    table.advance(999);
    expect(describeView(table, live)).toEqual([]);
    table.advance(1000);
    expect(describeView(table, live)).toEqual(['1:serving:healthy']);
  });

  it('a deregistered target keeps its last health and keeps serving until the change arrives', () => {
    const table = new RoutingTable(2000);
    table.seed([{ key: key(1), id: '10.8.0.10', port: 1, generation: 1, state: 'healthy' }]);
    table.receive(deregistered(1, 2, 100, 100 + 5000, 'healthy'));
    // The model now holds life 2 (draining); the view still routes life 1 as it ended.
    const live = model({ [key(1)]: [2, 'draining'] });
    table.advance(2099);
    expect(describeView(table, live)).toEqual(['1:serving:healthy']);
    table.advance(2100);
    expect(describeView(table, live)).toEqual(['1:draining:draining']);
    expect(table.list()[0]?.drainDeadline).toBe(5100);
  });

  it('a drain ends at the deregistration delay, never before the change reached the view', () => {
    const table = new RoutingTable(2000);
    table.seed([{ key: key(1), id: '10.8.0.10', port: 1, generation: 1, state: 'healthy' }]);
    table.receive(deregistered(1, 2, 0, 500));
    expect(table.nextDueAt()).toBe(2000);
    expect(table.advance(2000)).toEqual([key(1)]);
    expect(table.list()).toEqual([]);
  });

  it('ends drains in advance() and says which, so the listener can cut their requests', () => {
    const table = new RoutingTable(0);
    table.seed([{ key: key(1), id: '10.8.0.10', port: 1, generation: 1, state: 'healthy' }]);
    table.receive(deregistered(1, 2, 0, 3000));
    expect(table.advance(0)).toEqual([]);
    expect(table.nextDueAt()).toBe(3000);
    expect(table.advance(2999)).toEqual([]);
    expect(table.advance(3000)).toEqual([key(1)]);
    expect(table.nextDueAt()).toBeUndefined();
  });

  it('seeds draining members with their deadline', () => {
    const table = new RoutingTable(500);
    table.seed([
      { key: key(1), id: '10.8.0.10', port: 1, generation: 2, state: 'draining', drainingUntil: 800 },
      { key: key(2), id: '10.8.0.10', port: 2, generation: 1, state: 'initial' },
    ]);
    const live = model({ [key(1)]: [2, 'draining'], [key(2)]: [1, 'initial'] });
    expect(describeView(table, live)).toEqual(['1:draining:draining', '2:serving:initial']);
    expect(table.advance(800)).toEqual([key(1)]);
  });

  it('replays deregister, re-register, deregister in order, with each life judged by its own health', () => {
    const table = new RoutingTable(1000);
    table.seed([{ key: key(1), id: '10.8.0.10', port: 1, generation: 1, state: 'healthy' }]);
    table.receive(deregistered(1, 2, 0, 60_000, 'healthy'));
    table.receive(registered(1, 3, 100));
    table.receive(deregistered(1, 4, 200, 60_000, 'unhealthy'));
    const live = model({ [key(1)]: [4, 'draining'] });
    table.advance(999);
    expect(describeView(table, live)).toEqual(['1:serving:healthy']);
    table.advance(1000);
    expect(describeView(table, live)).toEqual(['1:draining:draining']);
    table.advance(1100);
    expect(describeView(table, live)).toEqual(['1:serving:unhealthy']);
    table.advance(1200);
    expect(describeView(table, live)).toEqual(['1:draining:draining']);
  });

  it('a re-registered target serves again and its drain deadline is dropped', () => {
    const table = new RoutingTable(0);
    table.seed([{ key: key(1), id: '10.8.0.10', port: 1, generation: 1, state: 'healthy' }]);
    table.receive(deregistered(1, 2, 0, 1000));
    table.receive(registered(1, 3, 10));
    expect(table.advance(10)).toEqual([]);
    expect(describeView(table, model({ [key(1)]: [3, 'initial'] }))).toEqual(['1:serving:initial']);
    expect(table.advance(5000)).toEqual([]);
  });

  it('refuses a negative delay', () => {
    expect(() => new RoutingTable(-1)).toThrow(/propagationDelayMs/);
  });
});
