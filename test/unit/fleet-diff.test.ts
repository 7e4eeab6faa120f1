// The fleet view's decisions as tables: whose each target is (by the address attribute), its
// verdict, the missing targets of labelled running tasks, what clean deregisters, and the
// memory of disconnections.
import { describe, expect, it } from 'vitest';
import { cleanPlan } from '../../agent/fleet-view/clean-plan.ts';
import { updateDisconnectedSince } from '../../agent/fleet-view/disconnected-since.ts';
import { fleetReport, formatDuration } from '../../agent/fleet-view/fleet-diff.ts';
import { ADDRESS_ATTRIBUTE, nothingToFix, type ContainerInstanceView, type FleetFacts, type TaskView } from '../../agent/fleet-view/fleet-facts.ts';
import { formatCleanCalls, formatFleetTable } from '../../agent/fleet-view/fleet-table.ts';
import type { ActualTarget } from '../../agent/core/target-registry.ts';

const G = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const H = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/fedcba9876543210';
const NOW = 1_000_000_000;
const GRACE = 15 * 60_000;
const TD = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3';

function instance(id: string, address: string | undefined, over: Partial<ContainerInstanceView> = {}): ContainerInstanceView {
  return { arn: `arn:aws:ecs:eu-west-1:123456789012:container-instance/edge/${id}`, id, name: `mi-${id}`, status: 'ACTIVE', agentConnected: true, attributes: address ? { [ADDRESS_ATTRIBUTE]: address } : {}, ...over };
}
const arnOf = (id: string) => `arn:aws:ecs:eu-west-1:123456789012:container-instance/edge/${id}`;
function task(id: string, on: string, hostPort: number, containerPort = 8080): TaskView {
  return { arn: `arn:aws:ecs:eu-west-1:123456789012:task/edge/${id}`, containerInstanceArn: arnOf(on), taskDefinitionArn: TD, lastStatus: 'RUNNING', containers: [{ name: 'web', bindings: [{ containerPort, hostPort, protocol: 'tcp' }] }] };
}
const target = (id: string, port: number, state = 'healthy'): ActualTarget => ({ id, port, availabilityZone: 'all', state });

function facts(over: Partial<FleetFacts>): FleetFacts {
  return { cluster: 'edge', instances: [], tasks: [], labels: {}, groups: [], disconnectedSince: {}, ...over };
}

describe('fleetReport: the verdict on each target', () => {
  it.each<[string, Partial<FleetFacts>, string, string | undefined]>([
    ['a connected instance holds the address and a task publishes the port', { instances: [instance('a', '10.8.0.1')], tasks: [task('t1', 'a', 32768)] }, 'serving', undefined],
    ['a connected instance holds the address, no task publishes the port', { instances: [instance('a', '10.8.0.1')] }, 'no-task', 'no running task of edge publishes port 32768 on a (mi-a)'],
    ['already draining', { instances: [instance('a', '10.8.0.1', { agentConnected: false })], disconnectedSince: { [arnOf('a')]: NOW - 2 * GRACE } }, 'draining', undefined],
    ['its instance disconnected 5 minutes ago', { instances: [instance('a', '10.8.0.1', { agentConnected: false })], disconnectedSince: { [arnOf('a')]: NOW - 5 * 60_000 } }, 'within-grace', 'ECS agent of a (mi-a) disconnected for 5m (grace 15m)'],
    ['its instance disconnected, first seen now', { instances: [instance('a', '10.8.0.1', { agentConnected: false })] }, 'within-grace', 'ECS agent of a (mi-a) disconnected for 0s (grace 15m)'],
    ['its instance disconnected exactly the grace ago', { instances: [instance('a', '10.8.0.1', { agentConnected: false })], disconnectedSince: { [arnOf('a')]: NOW - GRACE } }, 'stale', 'ECS agent of a (mi-a) disconnected for 15m (grace 15m)'],
    ['a DRAINING instance disconnected for 3 hours', { instances: [instance('a', '10.8.0.1', { agentConnected: false, status: 'DRAINING' })], disconnectedSince: { [arnOf('a')]: NOW - 185 * 60_000 } }, 'stale', 'ECS agent of a (mi-a) disconnected for 3h5m (grace 15m)'],
    ['nobody holds the address', { instances: [instance('b', '10.8.0.2')] }, 'stale', 'no ACTIVE container instance of edge holds 10.8.0.1'],
    ['only a deregistered instance held it', { instances: [instance('a', '10.8.0.1', { status: 'INACTIVE', agentConnected: false })] }, 'stale', 'no ACTIVE container instance of edge holds 10.8.0.1 (only a (mi-a) INACTIVE)'],
    ['a dead host\'s address taken by a new connected host', { instances: [instance('a', '10.8.0.1', { agentConnected: false }), instance('n', '10.8.0.1')], tasks: [task('t1', 'n', 32768)], disconnectedSince: { [arnOf('a')]: NOW - 2 * GRACE } }, 'serving', undefined],
    ['nobody holds it, but a connected instance has no attribute', { instances: [instance('b', undefined)] }, 'unknown', 'no instance has ecs-anywhere-lb.address=10.8.0.1, but b (mi-b) has no address attribute'],
  ])('%s', (_case, given, verdict, why) => {
    const state = _case === 'already draining' ? 'draining' : 'healthy';
    const report = fleetReport(facts({ ...given, groups: [{ targetGroupArn: G, targets: [target('10.8.0.1', 32768, state)] }] }), { now: NOW, graceMs: GRACE });
    const t = report.groups[0]?.targets[0];
    expect([t?.verdict, t?.why]).toEqual([verdict, why]);
    expect(report.stale.map((s) => `${s.id}:${s.port}`)).toEqual(verdict === 'stale' ? ['10.8.0.1:32768'] : []);
  });

  it('names the host and the task of a served target, and of a dead host\'s (ECS keeps its tasks RUNNING)', () => {
    const report = fleetReport(
      facts({ instances: [instance('a', '10.8.0.1'), instance('d', '10.8.0.9', { agentConnected: false })], tasks: [task('t1', 'a', 32768), task('t9', 'd', 33000)], disconnectedSince: { [arnOf('d')]: NOW - GRACE - 1 }, groups: [{ targetGroupArn: G, targets: [target('10.8.0.9', 33000), target('10.8.0.1', 32768)] }] }),
      { now: NOW, graceMs: GRACE },
    );
    expect(report.groups[0]?.targets.map((t) => [t.id, t.instanceId, t.instanceName, t.taskArn?.split('/').pop(), t.container, t.verdict])).toEqual([
      ['10.8.0.1', 'a', 'mi-a', 't1', 'web', 'serving'],
      ['10.8.0.9', 'd', 'mi-d', 't9', 'web', 'stale'],
    ]);
    expect(report.instances.map((i) => [i.id, i.address, i.disconnectedSince])).toEqual([['a', '10.8.0.1', undefined], ['d', '10.8.0.9', new Date(NOW - GRACE - 1).toISOString()]]);
  });
});

describe('fleetReport: missing targets of labelled running tasks', () => {
  const labels = (l: Record<string, string>) => ({ [TD]: { web: l } });
  it.each<[string, Partial<FleetFacts>, string[]]>([
    ['registered: nothing missing', { labels: labels({ 'ecs-anywhere-lb.target-group-arn': G }), groups: [{ targetGroupArn: G, targets: [target('10.8.0.1', 32768)] }] }, []],
    ['not in its group', { labels: labels({ 'ecs-anywhere-lb.target-group-arn': G }), groups: [{ targetGroupArn: G, targets: [] }] }, [`${G} 10.8.0.1:32768 t1 web a`]],
    ['only draining in its group', { labels: labels({ 'ecs-anywhere-lb.target-group-arn': G }), groups: [{ targetGroupArn: G, targets: [target('10.8.0.1', 32768, 'draining')] }] }, [`${G} 10.8.0.1:32768 t1 web a`]],
    ['two groups by the targets label, one has it', { labels: labels({ 'ecs-anywhere-lb.targets': `${G}@8080,${H}@8080` }), groups: [{ targetGroupArn: G, targets: [target('10.8.0.1', 32768)] }, { targetGroupArn: H, targets: [] }] }, [`${H} 10.8.0.1:32768 t1 web a`]],
    ['a container port it does not publish', { labels: labels({ 'ecs-anywhere-lb.target-group-arn': G, 'ecs-anywhere-lb.container-port': '9090' }), groups: [{ targetGroupArn: G, targets: [] }] }, []],
    ['a group not in play', { labels: labels({ 'ecs-anywhere-lb.target-group-arn': H }), groups: [{ targetGroupArn: G, targets: [] }] }, []],
    ['a group that could not be read', { labels: labels({ 'ecs-anywhere-lb.target-group-arn': G }), groups: [{ targetGroupArn: G, error: 'AccessDenied' }] }, []],
    ['no labels', { groups: [{ targetGroupArn: G, targets: [] }] }, []],
  ])('%s', (_case, given, missing) => {
    const report = fleetReport(facts({ instances: [instance('a', '10.8.0.1')], tasks: [task('t1', 'a', 32768)], ...given }), { now: NOW, graceMs: GRACE });
    expect(report.missing.map((m) => `${m.targetGroupArn} ${m.id}:${m.port} ${m.taskArn.split('/').pop()} ${m.container} ${m.instanceId}`)).toEqual(missing);
  });

  it('is not asked of tasks on a disconnected instance', () => {
    const report = fleetReport(facts({ instances: [instance('a', '10.8.0.1', { agentConnected: false })], tasks: [task('t1', 'a', 32768)], labels: { [TD]: { web: { 'ecs-anywhere-lb.target-group-arn': G } } }, groups: [{ targetGroupArn: G, targets: [] }] }), { now: NOW, graceMs: GRACE });
    expect(report.missing).toEqual([]);
  });
});

describe('nothingToFix', () => {
  const base = facts({ instances: [instance('a', '10.8.0.1')], tasks: [task('t1', 'a', 32768)], groups: [{ targetGroupArn: G, targets: [target('10.8.0.1', 32768)] }] });
  it.each<[string, FleetFacts, boolean]>([
    ['every target served', base, true],
    ['a disconnected host within the grace', { ...base, instances: [instance('a', '10.8.0.1', { agentConnected: false })] }, true],
    ['a stale target', { ...base, instances: [instance('b', '10.8.0.2')] }, false],
    ['a group that could not be read', { ...base, groups: [{ targetGroupArn: G, error: 'Throttling' }] }, false],
    ['a connected instance without the attribute', { ...base, instances: [instance('a', '10.8.0.1'), instance('b', undefined)] }, false],
  ])('%s: %s', (_case, given, expected) => {
    expect(nothingToFix(fleetReport(given, { now: NOW, graceMs: GRACE }))).toBe(expected);
  });
});

describe('cleanPlan', () => {
  it('deregisters the stale targets of allowed groups only, as registered, in calls of at most 200', () => {
    const many = Array.from({ length: 201 }, (_, i) => target('10.8.0.9', 30000 + i));
    const report = fleetReport(facts({ instances: [instance('a', '10.8.0.1')], groups: [{ targetGroupArn: G, targets: [target('10.8.0.1', 32768), ...many] }, { targetGroupArn: H, targets: [target('10.8.0.9', 40000)] }] }), { now: NOW, graceMs: GRACE });
    const calls = cleanPlan(report, [G]);
    expect(calls.map((c) => [c.targetGroupArn, c.targets.length])).toEqual([[G, 200], [G, 1]]);
    expect(calls[0]?.targets[0]).toEqual({ id: '10.8.0.9', port: 30000, availabilityZone: 'all', why: 'no ACTIVE container instance of edge holds 10.8.0.9' });
    expect(cleanPlan(report, [])).toEqual([]);
  });

  it('never deregisters on an address a connected instance holds, whatever the report says', () => {
    const report = fleetReport(facts({ instances: [instance('a', '10.8.0.1')], groups: [{ targetGroupArn: G, targets: [target('10.8.0.1', 32768)] }] }), { now: NOW, graceMs: GRACE });
    const forged = { ...report, stale: [{ targetGroupArn: G, id: '10.8.0.1', port: 32768, state: 'healthy', verdict: 'stale' as const }] };
    expect(cleanPlan(forged, [G])).toEqual([]);
  });

  it('prints what it did or would do', () => {
    const calls = [{ targetGroupArn: G, targets: [{ id: '10.8.0.9', port: 33000, why: 'gone' }] }];
    expect(formatCleanCalls(calls, false)).toBe('would deregister tg/web 10.8.0.9:33000 (gone)\ndry run: nothing changed; --apply deregisters them\n');
    expect(formatCleanCalls(calls, true)).toBe('deregistered tg/web 10.8.0.9:33000 (gone)\n');
    expect(formatCleanCalls([], true)).toBe('nothing to deregister\n');
  });
});

describe('updateDisconnectedSince', () => {
  it.each<[string, Record<string, number>, { arn: string; agentConnected: boolean }[], Record<string, number>]>([
    ['a new disconnection is dated now', {}, [{ arn: 'a', agentConnected: false }], { a: NOW }],
    ['a known one keeps its first sighting', { a: NOW - 5 }, [{ arn: 'a', agentConnected: false }], { a: NOW - 5 }],
    ['a reconnected one is forgotten', { a: NOW - 5 }, [{ arn: 'a', agentConnected: true }], {}],
    ['a vanished one is forgotten', { a: NOW - 5 }, [], {}],
  ])('%s', (_case, previous, instances, expected) => {
    expect(updateDisconnectedSince(previous, instances, NOW)).toEqual(expected);
  });
});

describe('formatDuration and the table', () => {
  it.each([[0, '0s'], [119_000, '119s'], [120_000, '2m'], [7_199_000, '119m'], [7_200_000, '2h'], [11_100_000, '3h5m']])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('shows instances, targets with host and task, and the differences', () => {
    const report = fleetReport(facts({ instances: [instance('a', '10.8.0.1'), instance('b', undefined)], tasks: [task('t1234567890abcdef', 'a', 32768)], groups: [{ targetGroupArn: G, targets: [target('10.8.0.1', 32768), target('10.8.0.7', 31000)] }] }), { now: NOW, graceMs: GRACE });
    const text = formatFleetTable(report);
    expect(text.split('\n').slice(0, 4)).toEqual([
      'cluster edge: 2 container instance(s), grace 15m',
      '  INSTANCE  NAME  STATUS  AGENT      ADDRESS',
      '  a         mi-a  ACTIVE  connected  10.8.0.1',
      '  b         mi-b  ACTIVE  connected  (no attribute)',
    ]);
    expect(text.split('\n').filter((l) => l.includes('10.8.0.1:32768'))[0]).toMatch(/^ {2}10\.8\.0\.1:32768 +healthy +a\/mi-a +t1234567890a +web +serving$/);
    expect(text).toContain('left alone: tg/web 10.8.0.7:31000 (no instance has ecs-anywhere-lb.address=10.8.0.7, but b (mi-b) has no address attribute)');
    expect(text).toContain('no address attribute: b (mi-b)');
  });
});
