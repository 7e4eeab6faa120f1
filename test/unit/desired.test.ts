import { describe, expect, it } from 'vitest';
import { computeDesired, type DesiredInput } from '../../agent/mapping/desired.ts';
import type { ContainerSnapshot } from '../../agent/core/container.ts';

const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const TG2 = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/fedcba9876543210';
const TASK = 'arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef0123456789abcdef';

function container(over: Partial<ContainerSnapshot> & { labels?: Record<string, string> } = {}): ContainerSnapshot {
  return {
    id: 'c1',
    name: 'ecs-web-3-app-aabbccddeeff00112233',
    running: true,
    stopping: false,
    health: 'none',
    networkMode: 'bridge',
    ports: [
      { containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 32768 },
      { containerPort: 8080, protocol: 'tcp', hostIp: '::', hostPort: 32768 },
    ],
    exposedPorts: [{ containerPort: 8080, protocol: 'tcp' }],
    ...over,
    labels: {
      'com.amazonaws.ecs.task-arn': TASK,
      'com.amazonaws.ecs.task-definition-family': 'web',
      'com.amazonaws.ecs.container-name': 'app',
      ...(over.labels ?? { 'ecs-anywhere-lb.target-group-arn': TG }),
    },
  };
}

const run = (containers: ContainerSnapshot[], extra: Partial<DesiredInput> = {}) =>
  computeDesired({ containers, rules: [], includeNonEcs: false, hostAddress: '10.8.0.10', ...extra });
const pairs = (r: ReturnType<typeof run>) => r.endpoints.map((e) => `${e.targetGroupArn === TG ? 'web' : 'api'}@${e.port}`);

describe('computeDesired', () => {
  it('maps the single published TCP port (IPv4 and IPv6 bindings count once)', () => {
    const r = run([container()]);
    expect(pairs(r)).toEqual(['web@32768']);
    expect(r.endpoints[0]).toMatchObject({ containerId: 'c1', taskArn: TASK });
    expect(r.problems).toEqual([]);
  });

  it('skips containers that are stopping, stopped, starting or unhealthy; admits healthy', () => {
    expect(pairs(run([container({ stopping: true })]))).toEqual([]);
    expect(pairs(run([container({ running: false })]))).toEqual([]);
    expect(pairs(run([container({ health: 'starting' })]))).toEqual([]);
    expect(pairs(run([container({ health: 'unhealthy' })]))).toEqual([]);
    expect(pairs(run([container({ health: 'healthy' })]))).toEqual(['web@32768']);
  });

  it.each<[string, Partial<ContainerSnapshot>, string[]]>([
    ['starting: registered (its health waits for the gate)', { health: 'starting' }, ['web@32768']],
    ['unhealthy: registered (the gate latches; ECS replaces it if it must)', { health: 'unhealthy' }, ['web@32768']],
    ['stopping: not registered', { stopping: true }, []],
    ['stopped: not registered', { running: false }, []],
  ])('a gated container %s', (_name, over, expected) => {
    const r = run([container({ ...over, labels: { 'ecs-anywhere-lb.target-group-arn': TG, 'ecs-anywhere-lb.readiness-gate': 'true' } })]);
    expect(pairs(r)).toEqual(expected);
    for (const e of r.endpoints) expect(e.gated).toBe(true);
  });

  it('a malformed readiness-gate label skips the container with a problem naming the label', () => {
    const r = run([container({ labels: { 'ecs-anywhere-lb.target-group-arn': TG, 'ecs-anywhere-lb.readiness-gate': 'maybe' } }), container({ id: 'c2' })]);
    expect(r.endpoints.map((e) => e.containerId)).toEqual(['c2']);
    expect(r.endpoints[0]?.gated).toBeUndefined();
    expect(r.problems).toEqual([{ containerId: 'c1', containerName: 'ecs-web-3-app-aabbccddeeff00112233', source: 'ecs-anywhere-lb.readiness-gate', message: '"maybe" is neither true nor false' }]);
  });

  it('admits non-ECS containers only with includeNonEcs, and never ECS internal containers', () => {
    const plain: ContainerSnapshot = { ...container(), labels: { 'ecs-anywhere-lb.target-group-arn': TG } };
    expect(pairs(run([plain]))).toEqual([]);
    expect(pairs(run([plain], { includeNonEcs: true }))).toEqual(['web@32768']);
    expect(pairs(run([container({ name: '~internal~ecs~pause-1' })], { includeNonEcs: true }))).toEqual([]);
  });

  it('chooses the port named by container-port among several, and reports ambiguity otherwise', () => {
    const ports = [
      { containerPort: 8080, protocol: 'tcp' as const, hostIp: '0.0.0.0', hostPort: 32768 },
      { containerPort: 9090, protocol: 'tcp' as const, hostIp: '0.0.0.0', hostPort: 32790 },
      { containerPort: 53, protocol: 'udp' as const, hostIp: '0.0.0.0', hostPort: 32800 },
    ];
    expect(pairs(run([container({ ports, labels: { 'ecs-anywhere-lb.target-group-arn': TG, 'ecs-anywhere-lb.container-port': '9090' } })]))).toEqual(['web@32790']);
    const ambiguous = run([container({ ports })]);
    expect(ambiguous.endpoints).toEqual([]);
    expect(ambiguous.problems[0]?.message).toMatch(/publishes 2 TCP ports \(8080, 9090\)/);
    const missing = run([container({ ports, labels: { 'ecs-anywhere-lb.target-group-arn': TG, 'ecs-anywhere-lb.container-port': '7000' } })]);
    expect(missing.problems[0]?.message).toMatch(/container port 7000\/tcp is not published/);
  });

  it('one container into two groups and two ports via the targets label', () => {
    const ports = [
      { containerPort: 8080, protocol: 'tcp' as const, hostIp: '', hostPort: 32768 },
      { containerPort: 9090, protocol: 'tcp' as const, hostIp: '', hostPort: 32790 },
    ];
    const r = run([container({ ports, labels: { 'ecs-anywhere-lb.targets': `${TG}@8080,${TG2}@9090` } })]);
    expect(pairs(r)).toEqual(['web@32768', 'api@32790']);
  });

  it('two tasks of one service are two endpoints (same group, two ports)', () => {
    const second = container({ id: 'c2', ports: [{ containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 32769 }] });
    expect(pairs(run([container(), second]))).toEqual(['web@32768', 'web@32769']);
  });

  it('refuses groups outside the allow-list with a problem naming the group', () => {
    const r = run([container()], { allowedTargetGroups: new Set([TG2]) });
    expect(r.endpoints).toEqual([]);
    expect(r.problems[0]).toMatchObject({ containerName: 'ecs-web-3-app-aabbccddeeff00112233', source: 'ecs-anywhere-lb.target-group-arn' });
    expect(r.problems[0]?.message).toContain(TG);
  });

  it('a binding on one host IP counts only when it is the host address', () => {
    const ports = [{ containerPort: 8080, protocol: 'tcp' as const, hostIp: '10.8.0.10', hostPort: 32768 }];
    expect(pairs(run([container({ ports })]))).toEqual(['web@32768']);
    const other = run([container({ ports: [{ ...ports[0]!, hostIp: '127.0.0.1' }] })]);
    expect(other.endpoints).toEqual([]);
    expect(other.problems[0]?.message).toMatch(/bound to 127.0.0.1 only/);
  });

  it('host network mode: host port = container port', () => {
    expect(pairs(run([container({ networkMode: 'host', ports: [], exposedPorts: [{ containerPort: 8080, protocol: 'tcp' }] })]))).toEqual(['web@8080']);
    const named = container({ networkMode: 'host', ports: [], exposedPorts: [], labels: { 'ecs-anywhere-lb.target-group-arn': TG, 'ecs-anywhere-lb.container-port': '3000' } });
    expect(pairs(run([named]))).toEqual(['web@3000']);
    expect(run([container({ networkMode: 'host', ports: [], exposedPorts: [] })]).problems[0]?.message).toMatch(/host network mode with 0 exposed TCP ports/);
  });

  // --host-port-range: a host-network task must not put the host's own ports into a group.
  const DYNAMIC = { min: 32768, max: 60999 };
  it.each([
    ['an exposed port', 8080, [8080], 'web@8080'],
    ['an exposed port outside the range', 443, [443], 'web@443'],
    ['a port inside the range, not exposed', 40000, [], 'web@40000'],
    ['the range\'s ends', 32768, [], 'web@32768'],
    ['sshd, not exposed', 22, [8080], undefined],
    ['a port just above the range', 61000, [], undefined],
  ])('host network mode, --host-port-range 32768-60999: %s (%d)', (_case, port, exposed, expected) => {
    const c = container({ networkMode: 'host', ports: [], exposedPorts: exposed.map((p) => ({ containerPort: p, protocol: 'tcp' as const })), labels: { 'ecs-anywhere-lb.target-group-arn': TG, 'ecs-anywhere-lb.container-port': String(port) } });
    const r = run([c], { hostPortRange: DYNAMIC });
    expect(pairs(r)).toEqual(expected === undefined ? [] : [expected]);
    if (expected === undefined) expect(r.problems[0]?.message).toBe(`host network mode: port ${port}/tcp is not exposed by the container and is outside --host-port-range 32768-60999`);
  });

  it('ports published on the pause container (network mode container:ID) are used', () => {
    const pause: ContainerSnapshot = { ...container({ id: 'p1', name: '~internal~ecs~pause-x', labels: {} }), ports: [{ containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 33000 }] };
    const app = container({ networkMode: 'container:p1', ports: [] });
    expect(pairs(run([pause, app]))).toEqual(['web@33000']);
  });

  it('a malformed label skips only that container; others go on', () => {
    const bad = container({ id: 'bad', name: 'ecs-bad', labels: { 'ecs-anywhere-lb.target-group-arn': 'not-an-arn' } });
    const good = container({ id: 'good', ports: [{ containerPort: 8080, protocol: 'tcp', hostIp: '', hostPort: 32999 }] });
    const r = run([bad, good]);
    expect(pairs(r)).toEqual(['web@32999']);
    expect(r.problems).toEqual([{ containerId: 'bad', containerName: 'ecs-bad', source: 'ecs-anywhere-lb.target-group-arn', message: '"not-an-arn" is not a target group ARN' }]);
  });

  it('mapping-file rules apply by family and container name', () => {
    const c = container({ labels: {} });
    const r = run([c], { rules: [{ family: 'web', containerName: 'app', targetGroupArn: TG2 }, { family: 'web', containerName: 'other', targetGroupArn: TG }] });
    expect(pairs(r)).toEqual(['api@32768']);
  });
});
