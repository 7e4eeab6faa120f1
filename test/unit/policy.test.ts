// The pure decisions beside the plan, as tables: which groups a pass looks at, the zone an
// address is registered with, which deregistrations make-before-break holds back, and the
// reason a log line gives for a deregistration.
import { describe, expect, it } from 'vitest';
import type { ContainerSnapshot } from '../../agent/core/container.ts';
import { parseCidr, type Cidr } from '../../agent/core/ipv4.ts';
import type { OwnedTarget } from '../../agent/core/state.ts';
import type { TargetRef } from '../../agent/core/target-registry.ts';
import type { DesiredEndpoint } from '../../agent/mapping/desired.ts';
import type { DeregisterWhy, GroupPlan } from '../../agent/reconcile/plan.ts';
import { availabilityZoneFor, deregisterReason, deregistrationsAfter, groupsInPlay, spreads, withoutHeld } from '../../agent/reconcile/policy.ts';

const arn = (name: string, id: string) => `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/${id}`;
const WEB = arn('web', '0123456789abcdef');
const API = arn('api', 'fedcba9876543210');
const ADMIN = arn('admin', '00000000000000aa');
const ep = (targetGroupArn: string, port: number): DesiredEndpoint => ({ targetGroupArn, port, containerId: `c${port}`, containerName: `app-${port}` });
const rec = (targetGroupArn: string, port: number): OwnedTarget => ({ targetGroupArn, id: '10.8.0.10', port });
const cidrs = (...texts: string[]): Cidr[] => texts.map((t) => parseCidr(t) as Cidr);

describe('groupsInPlay', () => {
  it.each<[string, string[] | undefined, DesiredEndpoint[], OwnedTarget[], string[]]>([
    ['nothing at all', undefined, [], [], []],
    ['allowed groups are in play even with no container asking', [WEB, API], [], [], [API, WEB]],
    ['groups containers ask for', undefined, [ep(WEB, 1), ep(API, 2)], [], [API, WEB]],
    ['groups with records (to clean up after a container left)', undefined, [], [rec(ADMIN, 1)], [ADMIN]],
    ['all three, once each, sorted', [WEB], [ep(WEB, 1), ep(API, 2), ep(API, 3)], [rec(ADMIN, 1), rec(WEB, 1)], [ADMIN, API, WEB]],
  ])('%s', (_name, allowed, endpoints, records, expected) => {
    expect(groupsInPlay(allowed, endpoints, records)).toEqual(expected);
  });
});

describe('availabilityZoneFor', () => {
  const vpc = cidrs('10.0.0.0/16', '172.31.0.0/16');
  it.each<[string, string | undefined, Cidr[], string | undefined]>([
    ['inside a VPC range: no zone', '10.0.3.7', vpc, undefined],
    ['inside the second VPC range: no zone', '172.31.255.254', vpc, undefined],
    ['outside the VPC (on premises, over the VPN): the configured zone', '10.8.0.10', vpc, 'all'],
    ['no VPC ranges configured: every address is outside', '10.0.3.7', [], 'all'],
    ['the boundary just past a range is outside', '10.1.0.0', vpc, 'all'],
    ['no address: no zone', undefined, vpc, undefined],
  ])('%s', (_name, address, ranges, expected) => {
    expect(availabilityZoneFor(address, ranges, 'all')).toBe(expected);
  });

  it('passes a configured zone through for addresses outside the VPC', () => {
    expect(availabilityZoneFor('192.168.1.5', cidrs('10.0.0.0/16'), 'us-east-1a')).toBe('us-east-1a');
  });
});

describe('withoutHeld (a refused target waits, and make-before-break keeps its old twin)', () => {
  const NEW = '10.8.0.10';
  const OLD = '10.8.0.6';
  const reg = (port: number) => ({ target: { id: NEW, port }, endpoint: ep(WEB, port) });
  const dereg = (id: string, port: number, why: DeregisterWhy) => ({ target: { id, port }, why });
  const show = (p: GroupPlan) => [...p.register.map((r) => `+${r.target.port}`), ...p.deregister.map((d) => `-${d.target.id}:${d.target.port}`)];

  it.each<[string, GroupPlan['register'], GroupPlan['deregister'], number[], string[]]>([
    ['nothing held: the plan as it was', [reg(80)], [dereg(OLD, 80, 'address-changed')], [], ['+80', `-${OLD}:80`]],
    ['a held registration goes, and the old-address target of its port stays', [reg(80), reg(81)], [dereg(OLD, 80, 'address-changed'), dereg(OLD, 81, 'address-changed')], [80], ['+81', `-${OLD}:81`]],
    ['not-desired deregistrations are not held', [reg(80)], [dereg(NEW, 90, 'not-desired')], [80], [`-${NEW}:90`]],
  ])('%s', (_name, register, deregister, heldPorts, expected) => {
    const p: GroupPlan = { targetGroupArn: WEB, register, deregister };
    expect(show(withoutHeld(p, (t) => heldPorts.includes(t.port)))).toEqual(expected);
  });
});

describe('deregistrationsAfter (make-before-break)', () => {
  const NEW = '10.8.0.10';
  const OLD = '10.8.0.6';
  const reg = (port: number) => ({ target: { id: NEW, port }, endpoint: ep(WEB, port) });
  const dereg = (id: string, port: number, why: DeregisterWhy) => ({ target: { id, port }, why });
  const show = (list: GroupPlan['deregister']) => list.map((d) => `${d.target.id}:${d.target.port}`);

  it.each<[string, GroupPlan['register'], GroupPlan['deregister'], number[], string[]]>([
    ['no registrations: every deregistration goes', [], [dereg(OLD, 80, 'address-changed'), dereg(NEW, 81, 'not-desired')], [], [`${OLD}:80`, `${NEW}:81`]],
    ['the replacement is in: the old-address target goes', [reg(80)], [dereg(OLD, 80, 'address-changed')], [80], [`${OLD}:80`]],
    ['the replacement failed: the old-address target on that port is held back', [reg(80)], [dereg(OLD, 80, 'address-changed')], [], []],
    ['held back by port: another port\'s old target still goes', [reg(80), reg(81)], [dereg(OLD, 80, 'address-changed'), dereg(OLD, 81, 'address-changed')], [81], [`${OLD}:81`]],
    ['an old target with no replacement planned (its container left) goes', [reg(80)], [dereg(OLD, 90, 'address-changed')], [], [`${OLD}:90`]],
    ['not-desired targets go even when the registration on their port failed', [reg(80)], [dereg(NEW, 80, 'not-desired'), dereg(OLD, 80, 'address-changed')], [], [`${NEW}:80`]],
    ['nothing registered succeeded: only the not-desired ones go', [reg(80), reg(81)], [dereg(OLD, 80, 'address-changed'), dereg(OLD, 81, 'address-changed'), dereg(NEW, 82, 'not-desired')], [], [`${NEW}:82`]],
  ])('%s', (_name, register, deregister, succeededPorts, expected) => {
    const p: GroupPlan = { targetGroupArn: WEB, register, deregister };
    const registered = (t: TargetRef) => t.id === NEW && succeededPorts.includes(t.port);
    expect(show(deregistrationsAfter(p, registered))).toEqual(expected);
  });
});

describe('deregisterReason', () => {
  const container = (over: Partial<ContainerSnapshot>): ContainerSnapshot => ({
    id: 'c1', name: 'app', labels: {}, running: true, stopping: false, health: 'none', networkMode: 'bridge', ports: [], exposedPorts: [], ...over,
  });
  it.each<[DeregisterWhy, string, ContainerSnapshot | undefined, string]>([
    ['address-changed', 'no container', undefined, 'address-changed'],
    ['address-changed', 'a stopping container', container({ stopping: true }), 'address-changed'],
    ['not-desired', 'no container', undefined, 'container-gone'],
    ['not-desired', 'an exited container', container({ running: false }), 'container-gone'],
    ['not-desired', 'an exited container stopped by a signal', container({ running: false, stopping: true }), 'container-gone'],
    ['not-desired', 'a stopping container', container({ stopping: true }), 'container-stopping'],
    ['not-desired', 'a stopping, unhealthy container', container({ stopping: true, health: 'unhealthy' }), 'container-stopping'],
    ['not-desired', 'an unhealthy container', container({ health: 'unhealthy' }), 'container-unhealthy'],
    ['not-desired', 'a container still starting', container({ health: 'starting' }), 'container-starting'],
    ['not-desired', 'a healthy container', container({ health: 'healthy' }), 'no-longer-mapped'],
    ['not-desired', 'a container without health check', container({ health: 'none' }), 'no-longer-mapped'],
  ])('%s, %s: %s', (why, _what, c, expected) => {
    expect(deregisterReason(why, c)).toBe(expected);
  });
});

describe('spreads', () => {
  // [case, moved, gated, pressed (this host's change pace throttled, not recovered), spread over the fleet's window]
  it.each<[string, boolean, boolean, boolean, boolean]>([
    ['a new target, no pressure', false, false, false, false],
    ['a new target under pressure (never held: ECS does not wait for it)', false, false, true, false],
    ['a move, no pressure: a lone reconnect moves at once', true, false, false, false],
    ['a move under pressure: the fleet is renumbering, take this host\'s moment', true, false, true, true],
    ['a gated registration, no pressure', false, true, false, true],
    ['a gated registration under pressure', false, true, true, true],
    ['a gated move', true, true, false, true],
  ])('%s', (_case, moved, gated, pressed, expected) => {
    expect(spreads({ ...(moved ? { moved: true } : {}), endpoint: gated ? { gated: true } : {} }, pressed)).toBe(expected);
  });
});
